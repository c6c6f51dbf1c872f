package history

import (
	"math"
	"reflect"
	"testing"
	"time"
)

// The decoders take whatever is on disk: never a panic, never a huge
// allocation, and what the encoders wrote comes back the same.

func FuzzDecodeChunk(f *testing.F) {
	s := sampleAt(t0)
	f.Add(appendSample(nil, &s, 0))
	f.Add(appendSample(appendSample(nil, &s, t0.UnixMilli()-5), &Sample{T: t0, CPU: float32(math.NaN())}, t0.UnixMilli()-5))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		smps, err := decodeChunk(b, 0, nil)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes.
		var again []byte
		for i := range smps {
			again = appendSample(again, &smps[i], 0)
		}
		back, err := decodeChunk(again, 0, nil)
		if err != nil || len(back) != len(smps) {
			t.Fatalf("re-encoded chunk: %d samples, %v; had %d", len(back), err, len(smps))
		}
	})
}

func FuzzDecodeAgg(f *testing.F) {
	var g agg
	for i := range 5 {
		s := sampleAt(t0.Add(time.Duration(i) * time.Second))
		g.add(&s)
	}
	ids := map[string]uint64{"/": 0, "/var": 1}
	names := []string{"/", "/var"}
	id := func(m string) uint64 { return ids[m] }
	name := func(i uint64) string {
		if i < uint64(len(names)) {
			return names[i]
		}
		return "?"
	}
	f.Add(appendAgg(nil, &g, id))
	f.Add([]byte{1, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeAgg(b, name)
	})
}

func TestAggRoundTrip(t *testing.T) {
	var g agg
	for i := range 60 {
		s := sampleAt(t0.Add(time.Duration(i) * time.Second))
		if i%7 == 0 {
			s.Load1 = float32(math.NaN()) // a figure missing from some samples
		}
		g.add(&s)
	}
	names := []string{"/", "/var"}
	id := func(m string) uint64 {
		for i, n := range names {
			if n == m {
				return uint64(i)
			}
		}
		t.Fatalf("unknown mount %q", m)
		return 0
	}
	got, err := decodeAgg(appendAgg(nil, &g, id), func(i uint64) string { return names[i] })
	if err != nil {
		t.Fatal(err)
	}
	// Flat figures come back with sum = value × count: equal here, since
	// the values are small integers or halves.
	if !reflect.DeepEqual(got, g) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, g)
	}
	if got.Sc[3].N != 60-9 {
		t.Fatalf("load1 folded %d samples, want 51", got.Sc[3].N)
	}
}
