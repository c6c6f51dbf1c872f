package fleet

import (
	"math"
	"testing"
	"time"

	stored "github.com/sysmon-dev/sysmon/internal/history"
)

// TestRestore: a host restored after a restart keeps its real last-seen
// time (offline if it stopped meanwhile, live if it is recent), its chart
// comes from the stored samples (at their times, with cores and file
// systems), it is not counted as accepted, and a redelivery of its last
// snapshot is still a duplicate.
func TestRestore(t *testing.T) {
	f := New(Config{HistorySize: 3, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	now := time.Unix(10_000, 0)
	old, recent := snap("gone", "i1", 7), snap("here", "i2", 9)
	var samples []stored.Sample
	for i := range 4 {
		samples = append(samples, stored.Sample{T: now.Add(time.Duration(i-4) * time.Second), CPU: float32(10 * i), Mem: 5,
			Swap: float32(math.NaN()), Cores: []float32{1, 2}, FS: []stored.FSUse{{Mount: "/", Pct: 40}, {Mount: "/var", Pct: 60}}})
	}
	if f.Restore(old, body(old), "", now.Add(-time.Hour), nil) != Accepted || f.Restore(recent, body(recent), "", now.Add(-time.Second), samples) != Accepted {
		t.Fatal("not restored")
	}
	e, pts, ok := f.Host("gone", now, -1)
	if !ok || e.Status != Offline || !e.LastSeen.Equal(now.Add(-time.Hour)) || len(pts) != 1 {
		t.Fatalf("a host last seen an hour ago: %+v, %d points; want offline, last seen then, its last snapshot's point", e, len(pts))
	}
	e, pts, ok = f.Host("here", now, -1)
	if !ok || e.Status != Live || len(pts) != 3 {
		t.Fatalf("a recent host: %s with %d points, want live with the 3 newest stored samples", e.Status, len(pts))
	}
	if p := pts[2]; p.T != samples[3].T.UnixMilli() || p.CPU != 30 || len(p.Cores()) != 2 || len(p.Mounts()) != 2 || p.FS()[1] != 60 || !math.IsNaN(float64(p.Swap)) {
		t.Fatalf("last restored point %+v (mounts %v, fs %v), want the last sample's", p, p.Mounts(), p.FS())
	}
	if c := f.Counts(now); c.Accepted != 0 || c.Hosts != 2 || c.Offline != 1 {
		t.Fatalf("counts after restore: %+v", c)
	}
	if f.Apply(recent, body(recent), "", now) != Duplicate {
		t.Fatal("the restored last snapshot, redelivered, is not a duplicate")
	}
	if f.Apply(snap("gone", "i1", 8), body(snap("gone", "i1", 8)), "", now) != Accepted {
		t.Fatal("the next snapshot of a restored host is refused")
	}
	if e, _, _ := f.Host("gone", now, -1); e.Status != Live {
		t.Fatalf("a restored host that sends again is %s", e.Status)
	}
}
