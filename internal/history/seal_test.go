package history

import (
	"bytes"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestRebaseChunkWritesWhatMergeWould: the seal's common case (a new raw
// row, samples in order) writes the very row and aggregates the general
// merge does, however the samples vary: missing figures, cores and file
// systems that come and go, a mount renamed; a chunk out of order is left
// to the merge.
func TestRebaseChunkWritesWhatMergeWould(t *testing.T) {
	minute := time.Now().Truncate(time.Minute).Add(-time.Hour)
	var smps []Sample
	for i := range 60 {
		x := benchSample(minute.Add(time.Duration(i)*time.Second+time.Duration(i)*time.Millisecond), i)
		switch i % 5 {
		case 1:
			x.Swap, x.Rx = nan32, nan32
		case 2:
			x.Cores, x.FS = nil, nil
		case 3:
			x.FS = append(x.FS[:1:1], FSUse{"/srv", 3}, FSUse{"/data", 4})
		case 4:
			x.Cores = x.Cores[:2]
		}
		smps = append(smps, x)
	}
	var enc []byte
	for i := range smps {
		enc = appendSample(enc, &smps[i], 0)
	}
	base := minute.Unix() * 1000
	var g agg
	row, inOrder, err := rebaseChunk(enc, base, &g, true)
	if err != nil || !inOrder {
		t.Fatalf("rebaseChunk: in order %v, %v", inOrder, err)
	}
	var want []byte
	var wantG agg
	for i := range smps {
		want = appendSample(want, &smps[i], base)
		wantG.add(&smps[i])
	}
	if !bytes.Equal(row, want) {
		t.Errorf("row differs from the merge's:\n got %x\nwant %x", row, want)
	}
	if !reflect.DeepEqual(g, wantG) {
		t.Errorf("aggregate %+v, want %+v", g, wantG)
	}
	back, err := decodeChunk(row, base, nil)
	if err != nil || len(back) != len(smps) {
		t.Fatalf("row decodes to %d samples, %v", len(back), err)
	}
	for i := range back {
		if !back[i].T.Equal(smps[i].T) || !slices.Equal(back[i].Cores, smps[i].Cores) || !slices.Equal(back[i].FS, smps[i].FS) ||
			back[i].CPU != smps[i].CPU || math.IsNaN(float64(back[i].Swap)) != math.IsNaN(float64(smps[i].Swap)) {
			t.Fatalf("sample %d: %+v, want %+v", i, back[i], smps[i])
		}
	}

	// Redelivered samples (the last one, an earlier one) and a late one
	// appended to the chunk.
	for _, late := range []Sample{smps[59], smps[10], benchSample(minute.Add(500*time.Millisecond), 0)} {
		e := appendSample(slices.Clip(enc), &late, 0)
		var g agg
		if _, inOrder, err := rebaseChunk(e, base, &g, true); err != nil || inOrder {
			t.Errorf("chunk with a sample at %v after %v: in order %v, %v", late.T, smps[59].T, inOrder, err)
		}
	}
}
