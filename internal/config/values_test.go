package config

import (
	"strings"
	"testing"
)

// TestNumbersAreFiniteDecimals: every number a getter reads is a finite
// decimal; NaN would pass any range check (all comparisons with it are
// false), so the rule sits in one place, ParseNumber, used by Float,
// FloatPair and Duration.
func TestNumbersAreFiniteDecimals(t *testing.T) {
	for _, ok := range []string{"0", "5", "-0.5", "+2", ".5", "5.", "1e3", " 7 ", "1E-2"} {
		if _, err := ParseNumber(ok); err != nil {
			t.Errorf("ParseNumber(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"NaN", "nan", "Inf", "+Inf", "-inf", "infinity", "1e999", "-1e999", "0x10", "0x1p-2",
		"1_000", "2junk", "1,2", "", " ", ".", "e5", "1e", "--1", "5 5"} {
		if f, err := ParseNumber(bad); err == nil {
			t.Errorf("ParseNumber(%q) = %v, want an error", bad, f)
		}
	}
}

func TestFloatGettersRejectNonFinite(t *testing.T) {
	cases := []struct{ key, value string }{
		{"RATE", "NaN"}, {"RATE", "Inf"}, {"RATE", "-Inf"}, {"RATE", "1e999"}, {"RATE", "5junk"},
		{"DELAY", "NaN"}, {"DELAY", "Inf"}, {"DELAY", "1e999"}, {"DELAY", "0x10"},
	}
	for _, c := range cases {
		l, _ := Open(write(t, "A=1\n"+c.key+"="+c.value+"\n"), true, noEnv)
		l.Float("RATE", 10, 0.01, 1e6)
		l.Duration("DELAY", 0, 0, 1<<62)
		err := l.Err()
		if err == nil || !strings.Contains(err.Error(), "x.env:2: "+c.key+": expected") {
			t.Errorf("%s=%s: got %v", c.key, c.value, err)
		}
	}
}

func TestFloatPair(t *testing.T) {
	get := func(v string) ([2]float64, error) {
		l, _ := Open(write(t, "P="+v+"\n"), true, noEnv)
		p := l.FloatPair("P", [2]float64{80, 95}, 0, 100)
		return p, l.Err()
	}
	for v, want := range map[string][2]float64{"70,90": {70, 90}, " 70 , 90 ": {70, 90}, "0,0": {0, 0}, "100,100": {100, 100}, "50,50": {50, 50}, "": {80, 95}} {
		if got, err := get(v); err != nil || got != want {
			t.Errorf("%q: got %v, %v; want %v", v, got, err, want)
		}
	}
	for _, v := range []string{"NaN,NaN", "1,2junk", "NaN,90", "80,Inf", "-1,90", "80,101", "95,80", "80", "80,90,95", "80;90", ",", "1e999,1e999", "0x10,0x20"} {
		_, err := get(v)
		if err == nil || !strings.Contains(err.Error(), "x.env:1: P: expected two numbers A,B with 0 ≤ A ≤ B ≤ 100 (e.g. 80,95)") {
			t.Errorf("%q: got %v", v, err)
		}
	}
}

func TestNameRule(t *testing.T) {
	long := strings.Repeat("h", MaxName)
	for _, ok := range []string{"web-1", "web-1.example.org", "hôte-été", long} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q): %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"":                       "is empty",
		long + "h":               "is 256 bytes long",
		"web\x01":                "control character U+0001",
		"web\x7f":                "control character U+007F",
		"web\u0085":              "control character U+0085",
		"web\n1":                 "control character U+000A",
		"PLAT\xff\xfe":           "not valid UTF-8",
		"caf\xc3":                "not valid UTF-8",
		"a\tb":                   "control character U+0009",
		strings.Repeat("é", 128): "is 256 bytes long",
	} {
		if err := CheckName(bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckName(%q) = %v, want %q", bad, err, want)
		}
	}
}

func TestNameGetter(t *testing.T) {
	l, _ := Open(write(t, "A=  web-1  \nB="+strings.Repeat("x", 300)+"\nC=\"web\\n1\"\n"), true, noEnv)
	if got := l.Name("A", "def"); got != "web-1" {
		t.Errorf("A = %q", got)
	}
	l.Name("B", "def")
	l.Name("C", "def")
	if got := l.Name("D", "sys"); got != "sys" {
		t.Errorf("default = %q", got)
	}
	err := l.Err()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"x.env:2: B: expected a name of 1 to 255 bytes of UTF-8 without control characters, got one that is 300 bytes long",
		"x.env:3: C: expected a name", "U+000A"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// A default that breaks the rule (a system host name with a control
	// character, say) names the key to set.
	l, _ = Open(write(t, ""), true, noEnv)
	l.Name("HOST_NAME", "bad\x1bname")
	if err := l.Err(); err == nil || !strings.Contains(err.Error(), `HOST_NAME: the default "bad\x1bname" cannot be used (it contains the control character U+001B`) ||
		!strings.Contains(err.Error(), "set HOST_NAME") {
		t.Errorf("got %v", err)
	}
}
