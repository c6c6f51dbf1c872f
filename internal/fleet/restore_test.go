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
// systems; the point of its last snapshot when the store has none), it is
// not counted as accepted, and a redelivery of its last snapshot is still a
// duplicate.
func TestRestore(t *testing.T) {
	now := time.Unix(10_000, 0)
	old, recent := snap("gone", "i1", 7), snap("here", "i2", 9)
	var samples []stored.Sample
	for i := range 4 {
		samples = append(samples, stored.Sample{T: now.Add(time.Duration(i-4) * time.Second), CPU: float32(10 * i), Mem: 5,
			Swap: float32(math.NaN()), Cores: []float32{1, 2}, FS: []stored.FSUse{{Mount: "/", Pct: 40}, {Mount: "/var", Pct: 60}}})
	}
	store := func(host string, n int) []stored.Sample {
		if host != "here" {
			return nil
		}
		return samples[max(0, len(samples)-n):]
	}
	f := New(Config{HistorySize: 3, Recent: store, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	if f.Restore(old, body(old), "", now.Add(-time.Hour)) != Accepted || f.Restore(recent, body(recent), "", now.Add(-time.Second)) != Accepted {
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

// TestLiveChartFromTheStore: with history kept (Recent), a host's live chart
// is HISTORY_SIZE points read from the store, while the fleet keeps only
// its latest point in memory: what a host costs does not grow with
// HISTORY_SIZE. Without a store the fleet keeps the chart itself.
func TestLiveChartFromTheStore(t *testing.T) {
	const size, n = 50, 80
	now := time.Unix(10_000, 0)
	var stored_ []stored.Sample
	store := func(host string, k int) []stored.Sample {
		if host != "db-01" {
			return nil
		}
		return stored_[max(0, len(stored_)-k):]
	}
	withStore := New(Config{HistorySize: size, Recent: store, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	alone := New(Config{HistorySize: size, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	onePoint := New(Config{HistorySize: 1, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	for i := range uint64(n) {
		at := now.Add(time.Duration(i) * time.Second)
		s := snap("db-01", "i1", i+1)
		withStore.Apply(s, body(s), "", at)
		alone.Apply(s, body(s), "", at)
		onePoint.Apply(s, body(s), "", at)
		stored_ = append(stored_, stored.Sample{T: at, CPU: float32(s.CPUPercent), Cores: []float32{1, 2}, FS: []stored.FSUse{{Mount: "/", Pct: 50}}})
	}
	end := now.Add(n * time.Second)
	for name, f := range map[string]*Fleet{"with a store": withStore, "without": alone} {
		_, pts, ok := f.Host("db-01", end, -1)
		if !ok || len(pts) != size {
			t.Fatalf("%s: %d points, want HISTORY_SIZE (%d)", name, len(pts), size)
		}
		for i, p := range pts {
			if want := now.Add(time.Duration(n-size+i) * time.Second).UnixMilli(); p.T != want || p.CPU != float32((n-size+i+1)%100) ||
				len(p.Cores()) != 2 || len(p.Mounts()) != 1 || p.FS()[0] != 50 {
				t.Fatalf("%s: point %d at %d cpu %v (mounts %v), want at %d", name, i, p.T, p.CPU, p.Mounts(), want)
			}
		}
		if _, pts, _ := f.Host("db-01", end, 10); len(pts) != 10 || pts[9].T != end.Add(-time.Second).UnixMilli() {
			t.Fatalf("%s: the newest 10 points: %d", name, len(pts))
		}
	}
	with, without, one := withStore.Counts(end).Bytes, alone.Counts(end).Bytes, onePoint.Counts(end).Bytes
	if with != one || with >= without {
		t.Fatalf("with a store the host takes %d bytes, %d without, %d with a 1-point window: the chart is still kept in memory", with, without, one)
	}
	// The dashboards' state still gets the latest point.
	withStore.Watch(func() {})
	if cs := withStore.Changes(time.Time{}, nil); len(cs) != 1 || cs[0].Point.T != end.Add(-time.Second).UnixMilli() {
		t.Fatalf("the state's changes %+v, want db-01 with its latest point", cs)
	}
}
