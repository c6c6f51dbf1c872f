package fleet

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestCompactMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{`{"a":1}`, `{ "a" : [1, 2] ,"b":"x y\" z\\"}`, "{\"a\":\n\t\"\\u0041 <>\"}", `{"a":"é"}`,
		`{"a":"x \\","b":1}`, `{"a":"x \\", "b":1}`, `{"a":"\" ","b":"\\\" "}`, `{"a":"\\\\"}`, `{"a":"\\\\" }`,
		`{"p":"AMD EPYC 7763 64-Core Processor","q":[ ]}`, `{"p":"AMD EPYC 7763 64-Core Processor","q":[]}`, `{"":""}`, `{"a":"\"\"\""}`} {
		got := compact([]byte(in))
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(in)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("compact(%q) = %q, want %q", in, got, want.Bytes())
		}
	}
}

// FuzzCompact: for any valid JSON, compact is json.Compact.
func FuzzCompact(f *testing.F) {
	for _, s := range []string{`{"a":"x \\","b":1}`, `{"a":"\" ","b":"\\\" "}`, `{ "a" : [1, 2] }`, `"\\\\"`, `[" ", "\"", 1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) {
			return
		}
		var want bytes.Buffer
		if err := json.Compact(&want, in); err != nil {
			t.Fatal(err)
		}
		if got := compact(in); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("compact(%q) = %q, want %q", in, got, want.Bytes())
		}
	})
}
