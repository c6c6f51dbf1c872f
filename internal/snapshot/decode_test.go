package snapshot

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// slowDecode is the reference: what encoding/json makes of body.
func slowDecode(body []byte) (*Snapshot, error) {
	s := &Snapshot{CPUPercent: math.NaN(), Memory: Memory{Percent: math.NaN()}}
	err := json.Unmarshal(body, s)
	return s, err
}

func sameSnapshot(a, b *Snapshot) bool {
	x, y := *a, *b
	for _, p := range []*Snapshot{&x, &y} {
		if math.IsNaN(p.CPUPercent) {
			p.CPUPercent = -1
		}
		if math.IsNaN(p.Memory.Percent) {
			p.Memory.Percent = -1
		}
	}
	if (x.Time == nil) != (y.Time == nil) || (x.Time != nil && !x.Time.Equal(*y.Time)) {
		return false
	}
	x.Time, y.Time = nil, nil
	return reflect.DeepEqual(x, y)
}

// checkFast: when the fast decoder accepts body, encoding/json must accept it
// too and agree on every field, and the checks of the encoding/json path
// (checkText) must pass: the fast path takes no text they would refuse.
func checkFast(t *testing.T, body []byte) (accepted bool) {
	t.Helper()
	fast := &Snapshot{CPUPercent: math.NaN(), Memory: Memory{Percent: math.NaN()}}
	if !decodeFast(body, fast) {
		return false
	}
	if err := checkText(body); err != nil {
		t.Fatalf("fast path accepted what checkText rejects (%v): %q", err, body)
	}
	ref, err := slowDecode(body)
	if err != nil {
		t.Fatalf("fast path accepted what encoding/json rejects (%v): %q", err, body)
	}
	if !sameSnapshot(fast, ref) {
		t.Fatalf("fast path disagrees with encoding/json on %q:\nfast %+v\nref  %+v", body, fast, ref)
	}
	return true
}

func TestDecodeFastAgrees(t *testing.T) {
	proto, err := os.ReadFile("testdata/prototype-snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := Encode(bigSample())
	withMissing := sample()
	withMissing.Missing, withMissing.Goodbye = []string{"disk_io", "filesystem:/mnt"}, true
	wm, _ := Encode(withMissing)
	for name, b := range map[string][]byte{"prototype": proto, "golden (indented)": golden, "big": body, "missing+goodbye": wm} {
		if !checkFast(t, b) {
			t.Errorf("%s: the fast path should take this common message", name)
		}
	}
	// Each of these must go to the slow path (or fail in both).
	for _, b := range []string{
		`{"timestamp":"a\"b","cpu_percent":1}`, `{"Host":"x"}`, `{"host":null}`, `{"cpu_percent":01}`,
		`{"cpu_percent":1e400}`, `{"seq":-1}`, `{"seq":1.5}`, `{"seq":18446744073709551616}`, `{"load":{"load1":1},"load":{"load5":2}}`,
		`{"memory":{"total":1,"total":2}}`, `{"host":"\xff"}`, `{"extra":1}`, `{"time":"2026-11-27T03:12:27Z "}`, `{"schema":1e2}`,
		`{"goodbye":tru}`, `{"cpu_per_core":[1,]}`, `{"a":1}x`, `{"timestamp":"x"} {}`,
		`{"cpu_percent":5000,"CPU_PERCENT":5}`, `{"memory":{"percent":1,"Percent":2}}`, `{"platform":"\xff"}`,
		`{"platform":"\ud800"}`, `{"cpu_percent":1.` + strings.Repeat("0", MaxNumberLen) + `}`,
		`{"filesystems":[{"device":"a","device":"b"}]}`, `{"network":{"interfaces":[{"name":"a","NAME":"b"}]}}`,
		`{"tags":{"env":"a","env":"b"}}`, `{"tags":{"env":"a","ENV":"b"}}`, `{"tags":{"Env":"a"}}`, `{"tags":{"k":1}}`,
		`{"tags":null}`, `{"tags":{}}`, `{"tags":{"k":"v"},"tags":{"j":"w"}}`, `{"temperatures":[{"sensor":"a","sensor":"b"}]}`,
		`{"temperatures":[{"celsius":1,"CELSIUS":2}]}`, `{"temperatures":[{}]}`, `{"temperatures":null}`,
	} {
		checkFast(t, []byte(b))
	}
}

// FuzzDecodeFast: on any input the fast path accepts, it agrees with
// encoding/json.
func FuzzDecodeFast(f *testing.F) {
	proto, _ := os.ReadFile("testdata/prototype-snapshot.json")
	f.Add(proto)
	body, _ := Encode(bigSample())
	f.Add(body)
	f.Add([]byte(`{"cpu_percent":-0.0e-0,"seq":0,"cpu_count":-3,"missing":[],"filesystems":[{}],"network":{"interfaces":[]}}`))
	f.Add([]byte(`{"cpu_percent":5000,"cpu_percent":5,"memory":{"total":1,"total":2}}`))
	f.Add([]byte(`{"tags":{"env":"prod","role":"db"},"temperatures":[{"sensor":"cpu","celsius":50,"high":80}]}`))
	f.Add([]byte(`{"platform":"PLAT\xff\xfe","cpu_percent":1.000000000000000000000000000000000000000000000000000000000000000001}`))
	f.Fuzz(func(t *testing.T, b []byte) { checkFast(t, b) })
}

// TestFloatMatchesParseFloat: the decoder's short path for decimals gives
// the bits strconv.ParseFloat gives, on the figures publishers write
// (rounded to 2 places, counters, percentages) and at its edges.
func TestFloatMatchesParseFloat(t *testing.T) {
	nums := []string{"0", "-0", "0.0", "-0.0", "1", "-1", "0.1", "0.2", "0.3", "578896.2", "2141913.99", "41.35", "99.99999",
		"123456789012345", "1234567890123456", "12345678901234.5", "1234567890.12345", "0.000000000000001", "0.00000000000001",
		"9007199254740993", "900719925474099.3", "1e5", "1.5e-3", "-12.5E+2", "3.141592653589793", "0.30000000000000004"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		v := r.Float64() * math.Pow(10, float64(r.IntN(16)))
		nums = append(nums, strconv.FormatFloat(v, 'f', r.IntN(8), 64), strconv.FormatFloat(-v, 'f', -1, 64))
	}
	for _, n := range nums {
		want, err := strconv.ParseFloat(n, 64)
		var got float64
		d := decoder{b: []byte(n)}
		if ok := d.float(&got); ok != (err == nil) || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s: decoded %v (%v), ParseFloat %v (%v)", n, got, ok, want, err)
		}
	}
}
