package fleet

import (
	"sort"
	"testing"
	"time"
)

// AppendLatest gives each host's latest snapshot as filed, and when.
func TestAppendLatest(t *testing.T) {
	f := testFleet()
	t0 := time.Now()
	for i, h := range []string{"b", "a", "b"} {
		s := snap(h, "i", uint64(i+1))
		f.Apply(s, body(s), "", t0.Add(time.Duration(i)*time.Second))
	}
	got := f.AppendLatest([]Latest{{Host: "kept"}})
	sort.Slice(got, func(i, j int) bool { return got[i].Host < got[j].Host })
	if len(got) != 3 || got[0].Host != "a" || got[1].Host != "b" || got[2].Host != "kept" {
		t.Fatalf("got %+v", got)
	}
	if want := body(snap("b", "i", 3)); string(got[1].Snapshot) != string(want) || !got[1].LastSeen.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("b: %s at %v, want %s at %v", got[1].Snapshot, got[1].LastSeen, want, t0.Add(2*time.Second))
	}
	if !got[0].LastSeen.Equal(t0.Add(time.Second)) {
		t.Fatalf("a last seen %v", got[0].LastSeen)
	}
}
