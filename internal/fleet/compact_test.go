package fleet

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestCompactMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{`{"a":1}`, `{ "a" : [1, 2] ,"b":"x y\" z\\"}`, "{\"a\":\n\t\"\\u0041 <>\"}", `{"a":"é"}`} {
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
