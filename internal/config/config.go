// Package config owns reading sysmon's env files: the file is parsed with
// python-dotenv's grammar (the prototype's), the process environment
// overrides it key by key, and every problem is reported with the file, the
// line, the key and what was expected, so that an operator can fix it from
// the journal alone.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ExitConfig is the exit code for a configuration error (EX_CONFIG from
// sysexits.h). The units tell systemd not to restart on it.
const ExitConfig = 78

// Error is one configuration problem, located as precisely as possible.
type Error struct {
	File string // the env file, or "" when the value came from the environment
	Line int    // 0 when unknown
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Key != "":
		b.WriteString("environment: ")
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "%s: ", e.Key)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one load, so that a single run reports all.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

type entry struct {
	value string
	line  int
}

// Loader reads typed values. Each getter records the key as known; errors
// accumulate and are returned together by Err.
type Loader struct {
	file      string
	entries   map[string]entry
	lookupEnv func(string) (string, bool)
	known     map[string]bool
	errs      Errors
}

// Open reads path. A missing file is an error only when explicit is true (the
// operator named it with -config); a missing default file means defaults.
// lookupEnv is os.LookupEnv in the daemons and a map in tests.
func Open(path string, explicit bool, lookupEnv func(string) (string, bool)) (*Loader, error) {
	l := &Loader{file: path, entries: map[string]entry{}, lookupEnv: lookupEnv, known: map[string]bool{}}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		return l, nil
	default:
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read config file: %v", errors.Unwrap(err))}}
	}
	if err := l.parse(data); err != nil {
		return nil, err
	}
	return l, nil
}

// parse reads the file line by line with python-dotenv's grammar
// (parseLine), which gives exact line numbers.
func (l *Loader) parse(data []byte) error {
	var errs Errors
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		k, v, err := parseLine(line)
		if err != nil {
			errs = append(errs, &Error{File: l.file, Line: n, Key: keyOf(strings.TrimSpace(line)),
				Msg: fmt.Sprintf("cannot parse line (%v); expected KEY=value", err)})
			continue
		}
		if k != "" {
			l.entries[k] = entry{value: v, line: n}
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &Error{File: l.file, Line: n + 1, Msg: fmt.Sprintf("cannot read: %v", err)})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func validKeyName(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		if r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// File is the path the loader read (or would have read).
func (l *Loader) File() string { return l.file }

// raw returns the value for key: the environment wins over the file.
func (l *Loader) raw(key string) (value string, set bool) {
	l.known[key] = true
	if v, ok := l.lookupEnv(key); ok {
		return v, true
	}
	if e, ok := l.entries[key]; ok {
		return e.value, true
	}
	return "", false
}

// fromFile tells whether key's value comes from the file (it is set there
// and the environment does not override it).
func (l *Loader) fromFile(key string) bool {
	if _, ok := l.lookupEnv(key); ok {
		return false
	}
	_, ok := l.entries[key]
	return ok
}

// IsSet tells whether the key was given in the file or the environment.
func (l *Loader) IsSet(key string) bool {
	_, ok := l.raw(key)
	return ok
}

// Fail records a problem with key at the place its value came from.
func (l *Loader) Fail(key, format string, args ...any) {
	e := &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
	if _, fromEnv := l.lookupEnv(key); !fromEnv {
		e.File = l.file
		e.Line = l.entries[key].line
	}
	l.errs = append(l.errs, e)
}

// String returns the value of key, or def when it is not set.
func (l *Loader) String(key, def string) string {
	if v, ok := l.raw(key); ok {
		return v
	}
	return def
}

// Int returns a whole number in [min, max].
func (l *Loader) Int(key string, def, min, max int) int {
	v, ok := l.raw(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < min || n > max {
		l.Fail(key, "expected a whole number from %d to %d, got %q", min, max, v)
		return def
	}
	return n
}

// Float returns a number in [min, max].
func (l *Loader) Float(key string, def, min, max float64) float64 {
	v, ok := l.raw(key)
	if !ok {
		return def
	}
	f, err := ParseNumber(v)
	if err != nil || f < min || f > max {
		l.Fail(key, "expected a number from %g to %g, got %q", min, max, v)
		return def
	}
	return f
}

// FloatPair reads "A,B": two numbers in [min, max] with A ≤ B (a warning
// and a critical level, say); def is also the example in the error.
func (l *Loader) FloatPair(key string, def [2]float64, min, max float64) [2]float64 {
	v, ok := l.raw(key)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	a, b, found := strings.Cut(v, ",")
	x, errA := ParseNumber(a)
	y, errB := ParseNumber(b)
	if !found || errA != nil || errB != nil || x < min || y > max || x > y {
		l.Fail(key, "expected two numbers A,B with %g ≤ A ≤ B ≤ %g (e.g. %g,%g), got %q", min, max, def[0], def[1], v)
		return def
	}
	return [2]float64{x, y}
}

// ParseNumber reads a finite decimal number ("5", "-0.5", "1e3"): every
// number a getter reads goes through it, so none lets NaN, Inf, hex floats
// or trailing text through. NaN in particular would pass any range check,
// because every comparison with it is false.
func ParseNumber(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if !decimal.MatchString(s) {
		return 0, fmt.Errorf("not a decimal number: %q", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("out of range: %q", s)
	}
	return f, nil
}

var decimal = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// MaxName is the longest name in bytes: exchange and queue names and
// routing keys travel in AMQP short strings, which the broker limits to 255
// bytes. The consumer applies the same limit to the host names it accepts.
const MaxName = 255

// Name reads a name that travels to the broker (an exchange, a queue, a
// host name used as routing key), trimmed of surrounding spaces. def (such
// as the system's host name) must pass the same rule as a value set here.
func (l *Loader) Name(key, def string) string {
	v, set := l.raw(key)
	if !set {
		v = def
	}
	v = strings.TrimSpace(v)
	if err := CheckName(v); err != nil {
		if set {
			l.Fail(key, "expected a name of 1 to %d bytes of UTF-8 without control characters, got one that %v", MaxName, err)
		} else {
			l.Fail(key, "the default %q cannot be used (it %v): set %s", clip(def, 64), err, key)
		}
	}
	return v
}

// CheckName tells what is wrong with a name, or nil: it must be 1 to
// MaxName bytes of valid UTF-8 without control characters (which break
// log lines, labels and the dashboard's frames).
func CheckName(s string) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case len(s) > MaxName:
		return fmt.Errorf("is %d bytes long (%q)", len(s), clip(s, 64))
	case !utf8.ValidString(s):
		return fmt.Errorf("is not valid UTF-8 (%q)", clip(s, 64))
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("contains the control character %U (%q)", r, clip(s, 64))
		}
	}
	return nil
}

// clip shortens s to about n bytes for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Bool accepts true/false, yes/no, on/off and 1/0 in any case, as the
// prototype's users wrote them.
func (l *Loader) Bool(key string, def bool) bool {
	v, ok := l.raw(key)
	if !ok {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "on", "1":
		return true
	case "false", "no", "off", "0":
		return false
	}
	l.Fail(key, "expected true or false, got %q", v)
	return def
}

// Duration accepts a Go duration ("500ms", "5s", "1m") or a plain number of
// seconds ("5", "0.5"), within [min, max].
func (l *Loader) Duration(key string, def, min, max time.Duration) time.Duration {
	v, ok := l.raw(key)
	if !ok {
		return def
	}
	d, err := ParseDuration(v)
	if err != nil || d < min || d > max {
		l.Fail(key, "expected a duration from %v to %v such as 5s, 500ms or 10 (seconds), got %q", min, max, v)
		return def
	}
	return d
}

// ParseDuration reads a Go duration or a number of seconds.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := ParseNumber(s); err == nil {
		if f < 0 || f > float64(1<<62)/float64(time.Second) {
			return 0, fmt.Errorf("out of range: %q", s)
		}
		d := time.Duration(f * float64(time.Second))
		if d == 0 && f != 0 {
			// 1e-12 must not turn into 0, which often means "off".
			return 0, fmt.Errorf("shorter than a nanosecond: %q", s)
		}
		return d, nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d == 0 && strings.ContainsAny(s, "123456789") {
		return 0, fmt.Errorf("shorter than a nanosecond: %q", s)
	}
	return d, err
}

// Enum returns one of allowed (compared case-insensitively, returned as listed).
func (l *Loader) Enum(key, def string, allowed ...string) string {
	v, ok := l.raw(key)
	if !ok {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSpace(v), a) {
			return a
		}
	}
	l.Fail(key, "expected one of %s, got %q", strings.Join(allowed, ", "), v)
	return def
}

// Load opens path and reads a daemon's settings with read: the one way both
// daemons load their env file. Warnings name keys that read never asked for.
func Load[C any](path string, explicit bool, lookupEnv func(string) (string, bool), read func(*Loader) (C, error)) (C, []Warning, error) {
	var zero C
	l, err := Open(path, explicit, lookupEnv)
	if err != nil {
		return zero, nil, err
	}
	c, err := read(l)
	if err != nil {
		return zero, nil, err
	}
	return c, l.Unknown(), nil
}

// Warning is a key in the file that no getter asked for.
type Warning struct {
	File       string
	Line       int
	Key        string
	Suggestion string // closest known key, or ""
}

func (w Warning) String() string {
	s := fmt.Sprintf("%s:%d: unknown key %s (ignored)", w.File, w.Line, w.Key)
	if w.Suggestion != "" {
		s += fmt.Sprintf("; did you mean %s?", w.Suggestion)
	}
	return s
}

// Unknown lists the file's keys that were never asked for. Call it after
// every getter has run.
func (l *Loader) Unknown() []Warning {
	var ws []Warning
	known := make([]string, 0, len(l.known))
	for k := range l.known {
		known = append(known, k)
	}
	sort.Strings(known)
	for k, e := range l.entries {
		if l.known[k] {
			continue
		}
		ws = append(ws, Warning{File: l.file, Line: e.line, Key: k, Suggestion: closest(k, known)})
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Line < ws[j].Line })
	return ws
}

// Known lists, sorted, every key a getter has asked for.
func (l *Loader) Known() []string {
	out := make([]string, 0, len(l.known))
	for k := range l.known {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Err returns every problem recorded so far, or nil.
func (l *Loader) Err() error {
	if len(l.errs) == 0 {
		return nil
	}
	return l.errs
}

// closest returns the known key nearest to k by edit distance, when it is
// near enough to be a plausible typo.
func closest(k string, known []string) string {
	best, bestD := "", 1<<30
	uk := strings.ToUpper(k)
	for _, c := range known {
		d := levenshtein(uk, c)
		if d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(2, len(k)/3) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
