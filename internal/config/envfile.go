package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// parseLine reads one line of an env file with python-dotenv's grammar,
// because the prototype's .env files were written for it and must keep their
// meaning here. In particular a "#" starts a comment only at the start of a
// line, after whitespace, or after a closing quote: an unquoted
// RABBITMQ_PASSWORD=a#b is "a#b", as python-dotenv reads it (go-envparse,
// used before, cut it to "a"). Unquoted values are literal (quotes and
// backslashes inside them included) and trimmed; 'single' and "double"
// quotes keep everything, with python-dotenv's escapes (\\ and \' in single
// quotes; \\ \' \" \a \b \f \n \r \t \v in double quotes, any other
// backslash kept as it is).
//
// Where python-dotenv would read something sysmon cannot reproduce, the
// line is an error rather than a different value: a quote not closed on its
// line (python-dotenv continues on the next lines), text after a closing
// quote, ${VAR} (which python-dotenv replaces with the variable's value), a
// key without "=", and control characters other than tab.
//
// key is "" for blank and comment lines. On an error the caller names the
// key it can guess (keyOf).
func parseLine(line string) (key, value string, err error) {
	s := strings.TrimLeftFunc(line, unicode.IsSpace)
	if s == "" || s[0] == '#' {
		return "", "", nil
	}
	for _, r := range line {
		if r != '\t' && (r < 0x20 || r == 0x7f) {
			return "", "", fmt.Errorf("control character %U in the line", r)
		}
	}
	if rest, ok := strings.CutPrefix(s, "export"); ok && rest != "" && unicode.IsSpace(rune(rest[0])) {
		s = strings.TrimLeftFunc(rest, unicode.IsSpace)
	}
	if s != "" && s[0] == '\'' {
		end := strings.IndexByte(s[1:], '\'')
		if end <= 0 {
			return "", "", errors.New("quoted key without its closing quote")
		}
		key, s = s[1:end+1], s[end+2:]
	} else {
		end := strings.IndexFunc(s, func(r rune) bool { return r == '=' || r == '#' || unicode.IsSpace(r) })
		if end < 0 {
			end = len(s)
		}
		key, s = s[:end], s[end:]
	}
	if key == "" {
		return "", "", errors.New("no key before =")
	}
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	if s == "" || s[0] != '=' {
		return "", "", errors.New("no = after the key")
	}
	s = strings.TrimLeftFunc(s[1:], unicode.IsSpace)

	switch {
	case s == "":
		value = ""
	case s[0] == '\'' || s[0] == '"':
		q := s[0]
		end := closingQuote(s, q)
		if end < 0 {
			return "", "", fmt.Errorf("no closing %c on this line (values spanning several lines are not supported)", q)
		}
		raw, after := s[1:end], strings.TrimLeftFunc(s[end+1:], unicode.IsSpace)
		if after != "" && after[0] != '#' {
			return "", "", fmt.Errorf("unexpected text %q after the closing %c", clip(after, 20), q)
		}
		if q == '\'' {
			value = singleQuoteEscapes.Replace(raw)
		} else {
			value = doubleQuoteEscapes.Replace(raw)
		}
	default:
		value = s
		if m := commentAfterSpace.FindStringIndex(value); m != nil {
			value = value[:m[0]]
		}
		value = strings.TrimRightFunc(value, unicode.IsSpace)
	}
	if expansion.MatchString(value) {
		return "", "", errors.New("${…} would be replaced by a variable's value in the prototype (python-dotenv); sysmon does not expand variables: write the value itself")
	}
	return key, value, nil
}

// closingQuote is the index of the quote that closes s[0], skipping
// backslash-escaped ones, or -1.
func closingQuote(s string, q byte) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) && s[i+1] == q {
				i++
			}
		case q:
			return i
		}
	}
	return -1
}

var (
	// python-dotenv: re.sub(r"\s+#.*", "", value) on unquoted values, where
	// \s is any Unicode space.
	commentAfterSpace = regexp.MustCompile(`[\s\p{Z}\x{85}]+#`)
	// python-dotenv's ${NAME} and ${NAME:-default}.
	expansion          = regexp.MustCompile(`\$\{[^}]*\}`)
	singleQuoteEscapes = strings.NewReplacer(`\\`, `\`, `\'`, `'`)
	doubleQuoteEscapes = strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\"`, `"`, `\a`, "\a", `\b`, "\b",
		`\f`, "\f", `\n`, "\n", `\r`, "\r", `\t`, "\t", `\v`, "\v")
)

// keyOf guesses the key of a line that cannot be parsed, for the error.
func keyOf(s string) string {
	k, _, _ := strings.Cut(strings.TrimPrefix(s, "export "), "=")
	k = strings.TrimSpace(k)
	if !validKeyName(k) {
		return ""
	}
	return k
}
