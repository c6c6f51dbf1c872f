package config

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// dotenvCases are lines and the value python-dotenv 1.2.2 (the prototype's
// parser) gives them, as observed with dotenv_values; TestDotenvCasesAgree
// re-checks them against python-dotenv where it is installed.
var dotenvCases = []struct{ line, key, value string }{
	// "#" starts a comment only after whitespace.
	{"K=a#b", "K", "a#b"},
	{"K=a #b", "K", "a"},
	{"K=a\t#b", "K", "a"},
	{"K=a#b #c", "K", "a#b"},
	{"K=a # b # c", "K", "a"},
	{"K=#abc", "K", "#abc"},
	{"K= #c", "K", "#c"},
	{"K=a #", "K", "a"},
	{"RABBITMQ_PASSWORD=a#b", "RABBITMQ_PASSWORD", "a#b"},
	{"RABBITMQ_PASSWORD=2024/Winter#x", "RABBITMQ_PASSWORD", "2024/Winter#x"},
	{"K=café#1", "K", "café#1"},
	{"K=a\u00a0#b", "K", "a"},
	{"RABBITMQ_URL=amqp://u:p#x@mq/", "RABBITMQ_URL", "amqp://u:p#x@mq/"},
	{"RABBITMQ_PASSWORD=p@ss w#rd", "RABBITMQ_PASSWORD", "p@ss w#rd"},
	{"RABBITMQ_PASSWORD=p@ss w #rd", "RABBITMQ_PASSWORD", "p@ss w"},
	// Quotes keep everything.
	{"K='a#b'", "K", "a#b"},
	{`K="a # b"`, "K", "a # b"},
	{"K='a' # c", "K", "a"},
	{`K="a" #c`, "K", "a"},
	{`K="a#b"#c`, "K", "a#b"},
	{"K='x'#c", "K", "x"},
	{"K='a'   ", "K", "a"},
	{"K=  'a#b'  # c", "K", "a#b"},
	{"K=\"a\"\t#x", "K", "a"},
	// Escapes: python-dotenv's, not JSON's.
	{`K="a\nb"`, "K", "a\nb"},
	{`K='a\nb'`, "K", `a\nb`},
	{`K='ab\'c'`, "K", "ab'c"},
	{`K="a\"b"`, "K", `a"b`},
	{`K="a\/b"`, "K", `a\/b`},
	{`K="\u00e9"`, "K", `\u00e9`},
	{`K="a\qb"`, "K", `a\qb`},
	{`K="a\\b"`, "K", `a\b`},
	// Unquoted values are literal and trimmed.
	{`K=a"b"`, "K", `a"b"`},
	{"K=a'b", "K", "a'b"},
	{`K=a\'b`, "K", `a\'b`},
	{`K=a\#b`, "K", `a\#b`},
	{"K=`a#b`", "K", "`a#b`"},
	{"K=a  b  # c", "K", "a  b"},
	{"K=a b", "K", "a b"},
	{"K=a\tb", "K", "a\tb"},
	{"K=$HOME", "K", "$HOME"},
	{"K==v", "K", "=v"},
	{"K=a=b", "K", "a=b"},
	{"K=", "K", ""},
	// Keys, export, spaces.
	{"export K=a#b", "K", "a#b"},
	{"export  K=v", "K", "v"},
	{"exportK=v", "exportK", "v"},
	{"K = a#b", "K", "a#b"},
	{"  K=v", "K", "v"},
	{"'K'=v", "K", "v"},
	{"FOO.BAR=1", "FOO.BAR", "1"},
	// Not settings.
	{"# K=v", "", ""},
	{"   ", "", ""},
}

func TestParseLineAgreesWithPythonDotenv(t *testing.T) {
	for _, c := range dotenvCases {
		k, v, err := parseLine(c.line)
		if err != nil || k != c.key || v != c.value {
			t.Errorf("%q: got %q=%q, %v; want %q=%q", c.line, k, v, err, c.key, c.value)
		}
	}
}

// TestParseLineRefusesWhatItCannotReproduce: where python-dotenv reads
// something sysmon would not read the same way, the line is an error.
func TestParseLineRefusesWhatItCannotReproduce(t *testing.T) {
	for line, want := range map[string]string{
		`K="abc`:         "no closing \"",
		"K='abc":         "no closing '",
		"K='a'junk":      `unexpected text "junk"`,
		`K="a" b`:        "unexpected text",
		"K=${HOME}/x":    "sysmon does not expand variables",
		"K='${HOME}'":    "sysmon does not expand variables",
		"K=a${NOPE:-d}b": "sysmon does not expand variables",
		"K":              "no = after the key",
		"this is not":    "no = after the key",
		"=v":             "no key",
		"K=a\x01b":       "control character U+0001",
		"K=a\x00b":       "control character U+0000",
		"K=\"a\x7fb\"":   "control character U+007F",
		"'K=v":           "quoted key",
	} {
		_, _, err := parseLine(line)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error with %q", line, err, want)
		}
	}
}

// TestDotenvCasesAgree runs the table through python-dotenv itself, where
// it is installed (the prototype's machines have it).
func TestDotenvCasesAgree(t *testing.T) {
	if exec.Command("python3", "-c", "import dotenv").Run() != nil {
		t.Skip("python-dotenv is not installed")
	}
	lines := make([]string, len(dotenvCases))
	for i, c := range dotenvCases {
		lines[i] = c.line
	}
	in, _ := json.Marshal(lines)
	script := `import io, json, sys
from dotenv import dotenv_values
out = []
for line in json.load(sys.stdin):
    out.append(dict(dotenv_values(stream=io.StringIO(line + "\n"))))
json.dump(out, sys.stdout)`
	cmd := exec.Command("python3", "-c", script)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]*string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for i, c := range dotenvCases {
		want := map[string]string{}
		if c.key != "" {
			want[c.key] = c.value
		}
		have := map[string]string{}
		for k, v := range got[i] {
			if v != nil {
				have[k] = *v
			}
		}
		if len(have) != len(want) || have[c.key] != want[c.key] {
			t.Errorf("%q: python-dotenv gives %q, the table says %q", c.line, have, want)
		}
	}
}

func TestEnvFileKeepsPrototypePassword(t *testing.T) {
	// CRLF line ends, as an editor on Windows writes them: python-dotenv
	// ignores the CR.
	p := write(t, "RABBITMQ_USER=sysmon\r\nRABBITMQ_PASSWORD=a#b # the broker password\r\n")
	l, err := Open(p, true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	b := LoadBroker(l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if want := "amqp://sysmon:a%23b@localhost:5672/%2F"; b.URLs[0] != want {
		t.Fatalf("URL %q, want %q", b.URLs[0], want)
	}
}
