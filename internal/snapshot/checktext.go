package snapshot

import (
	"reflect"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// checkText rejects JSON text that readers may see differently from what
// Decode validated, before encoding/json reads it. The consumer forwards
// the body as published, to browsers, to Python clients of the API and into
// label values, so everything in it must be what was checked:
//   - invalid UTF-8 anywhere (encoding/json quietly replaces it; a browser
//     drops the WebSocket on it) and escapes of lone UTF-16 surrogates such
//     as "\ud800" (no Unicode text; Python clients fail to re-encode them);
//   - a key repeated in one object, or spelt in another case (encoding/json
//     matches keys case-insensitively and the last one wins, where the
//     dashboard reads the exact key, so {"cpu_percent":5000,"CPU_PERCENT":5}
//     passed validation with 5 and showed 5000);
//   - a known key spelt in another case even once ("CPU_PERCENT" alone);
//   - nesting deeper than MaxDepth, numbers longer than MaxNumberLen, and
//     keys sysmon does not know taking more than MaxUnknownBytes;
//   - anything that is not JSON.
//
// The fast decoder accepts none of this by construction (exact keys once,
// no escapes, valid UTF-8, fixed depth); a fuzz test holds it to that.
func checkText(body []byte) error {
	t := textScanner{decoder: decoder{b: body}}
	if !t.value(messageShape, 1) {
		if t.err == nil {
			return invalid("not JSON at offset %d", t.i)
		}
		return t.err
	}
	t.ws()
	if t.i != len(t.b) {
		return invalid("data after the JSON object at offset %d", t.i)
	}
	return nil
}

// shape is what sysmon knows of a JSON value: the keys of an object, the
// element of an array. A nil shape is unknown: anything goes, within the
// limits.
type shape struct {
	keys   map[string]*shape // exact key → its value's shape
	folded map[string]string // folded key → exact key
	elem   *shape
	value  *shape // a map's values (tags): its keys are data, not sysmon's
}

// messageShape follows the json tags of Snapshot, so that it cannot drift
// from what encoding/json fills.
var messageShape = shapeOf(reflect.TypeFor[Snapshot]())

var leaf = &shape{}

func shapeOf(t reflect.Type) *shape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		return &shape{elem: shapeOf(t.Elem())}
	case reflect.Map:
		return &shape{value: shapeOf(t.Elem())}
	case reflect.Struct:
		if t.PkgPath() == reflect.TypeFor[Snapshot]().PkgPath() { // not time.Time
			s := &shape{keys: map[string]*shape{}, folded: map[string]string{}}
			for i := 0; i < t.NumField(); i++ {
				name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
				if name == "" || name == "-" {
					continue
				}
				s.keys[name] = shapeOf(t.Field(i).Type)
				s.folded[fold(name)] = name
			}
			return s
		}
	}
	return leaf // numbers, strings, booleans, time.Time
}

// fold is the key as encoding/json compares it (ASCII and Unicode simple
// case folding): two keys with the same fold are the same key to it.
func fold(key string) string {
	ascii := true
	for i := 0; i < len(key); i++ {
		if c := key[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			ascii = false
			break
		}
	}
	if ascii {
		return key
	}
	var b strings.Builder
	b.Grow(len(key))
	for _, r := range key {
		b.WriteRune(unicode.ToLower(unicode.ToUpper(r)))
	}
	return b.String()
}

type textScanner struct {
	decoder
	unknown int // bytes of unknown keys and their values
	err     error
}

func (t *textScanner) fail(format string, args ...any) bool {
	if t.err == nil {
		t.err = invalid(format, args...)
	}
	return false
}

// value checks one value at nesting depth depth, whose shape is sh.
func (t *textScanner) value(sh *shape, depth int) bool {
	switch c := t.peek(); {
	case c == '{' || c == '[':
		if depth > MaxDepth {
			return t.fail("nesting deeper than %d at offset %d", MaxDepth, t.i)
		}
		if c == '{' {
			return t.object(sh, depth)
		}
		var elem *shape
		if sh != nil {
			elem = sh.elem
		}
		return t.array(elem, depth)
	case c == '"':
		_, ok := t.str(false)
		return ok
	case c == '-' || ('0' <= c && c <= '9'):
		start := t.i
		n, ok := t.number()
		if !ok {
			return t.fail("invalid number at offset %d", start)
		}
		if len(n) > MaxNumberLen {
			return t.fail("number of %d characters at offset %d, limit %d", len(n), start, MaxNumberLen)
		}
		return true
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(t.b)-t.i >= len(lit) && string(t.b[t.i:t.i+len(lit)]) == lit {
				t.i += len(lit)
				return true
			}
		}
	}
	if t.i >= len(t.b) {
		return t.fail("unexpected end of JSON")
	}
	return t.fail("invalid character %q at offset %d", t.b[t.i], t.i)
}

func (t *textScanner) object(sh *shape, depth int) bool {
	t.i++ // {
	if t.eat('}') {
		return true
	}
	// The keys seen in this object, folded: a slice while there are few,
	// a map beyond (only an unknown object can have many keys).
	var few [16]string
	seen := few[:0]
	var many map[string]struct{}
	for {
		if t.peek() != '"' {
			return t.fail("expected a key at offset %d", t.i)
		}
		start := t.i
		key, ok := t.str(true)
		if !ok {
			return false
		}
		if !t.eat(':') {
			return t.fail("expected ':' at offset %d", t.i)
		}
		f := fold(key)
		dup := false
		if many == nil {
			for _, k := range seen {
				dup = dup || k == f
			}
			if len(seen) < len(few) {
				seen = append(seen, f)
			} else {
				many = make(map[string]struct{}, 2*len(few))
				for _, k := range seen {
					many[k] = struct{}{}
				}
			}
		}
		if many != nil {
			_, dup = many[f]
			many[f] = struct{}{}
		}
		if dup {
			return t.fail("key %.40q repeated at offset %d (keys are compared ignoring case)", key, start)
		}
		var child *shape
		counted := false
		if sh != nil && sh.value != nil {
			child = sh.value
		} else if sh != nil && sh.keys != nil {
			var known bool
			if child, known = sh.keys[key]; !known {
				if exact, ok := sh.folded[f]; ok {
					return t.fail("key %.40q at offset %d: the key is %q", key, start, exact)
				}
				counted = true
			}
		}
		if !t.value(child, depth+1) {
			return false
		}
		if counted {
			if t.unknown += t.i - start; t.unknown > MaxUnknownBytes {
				return t.fail("unknown keys take more than %d bytes (at offset %d)", MaxUnknownBytes, start)
			}
		}
		if t.eat(',') {
			continue
		}
		if t.eat('}') {
			return true
		}
		return t.fail("expected ',' or '}' at offset %d", t.i)
	}
}

func (t *textScanner) array(elem *shape, depth int) bool {
	t.i++ // [
	if t.eat(']') {
		return true
	}
	for {
		if !t.value(elem, depth+1) {
			return false
		}
		if t.eat(',') {
			continue
		}
		if t.eat(']') {
			return true
		}
		return t.fail("expected ',' or ']' at offset %d", t.i)
	}
}

// str checks a string at t.i and, if want, returns its decoded value.
func (t *textScanner) str(want bool) (string, bool) {
	start := t.i
	t.i++          // "
	var buf []byte // the decoded string, once it had an escape
	seg := t.i
	for t.i < len(t.b) {
		switch c := t.b[t.i]; {
		case c == '"':
			raw := t.b[seg:t.i]
			t.i++
			switch {
			case !want:
				return "", true
			case buf == nil:
				return string(raw), true
			}
			return string(append(buf, raw...)), true
		case c == '\\':
			if want {
				buf = append(buf, t.b[seg:t.i]...)
			}
			r, ok := t.escape()
			if !ok {
				return "", false
			}
			if want {
				buf = utf8.AppendRune(buf, r)
			}
			seg = t.i
		case c < 0x20:
			return "", t.fail("control character %#x in a string at offset %d", c, t.i)
		case c < utf8.RuneSelf:
			t.i++
		default:
			r, n := utf8.DecodeRune(t.b[t.i:])
			if r == utf8.RuneError && n == 1 {
				return "", t.fail("invalid UTF-8 at offset %d", t.i)
			}
			t.i += n
		}
	}
	return "", t.fail("unterminated string at offset %d", start)
}

// escape decodes the escape at t.i. A \u escape of a UTF-16 surrogate must
// be the first half of a pair followed by the second: alone, it is no
// character (encoding/json makes it U+FFFD, JavaScript a broken string).
func (t *textScanner) escape() (rune, bool) {
	at := t.i
	if t.i+1 >= len(t.b) {
		return 0, t.fail("unterminated string at offset %d", at)
	}
	c := t.b[t.i+1]
	t.i += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	case 'u':
		r, ok := t.hex4()
		if !ok {
			return 0, t.fail("invalid \\u escape at offset %d", at)
		}
		if !utf16.IsSurrogate(r) {
			return r, true
		}
		if r < 0xdc00 && t.i+1 < len(t.b) && t.b[t.i] == '\\' && t.b[t.i+1] == 'u' {
			t.i += 2
			if r2, ok := t.hex4(); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
				return utf16.DecodeRune(r, r2), true
			}
		}
		return 0, t.fail("escape of a lone UTF-16 surrogate at offset %d", at)
	}
	return 0, t.fail("invalid escape at offset %d", at)
}

func (t *textScanner) hex4() (rune, bool) {
	if len(t.b)-t.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range t.b[t.i : t.i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	t.i += 4
	return r, true
}
