package fleet

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

func apply(t *testing.T, f *Fleet, s *snapshot.Snapshot, at time.Time) Outcome {
	t.Helper()
	return f.Apply(s, body(s), "", at)
}

// TestHostExpire: a host offline for longer than Expire is forgotten (and
// dashboards are told), one offline for less is kept.
func TestHostExpire(t *testing.T) {
	f := New(Config{HistorySize: 5, MaxHosts: 10, Expire: time.Hour, StaleAfter: 3, OfflineAfter: 10})
	t0 := time.Unix(100_000, 0)
	apply(t, f, snap("old", "i", 1), t0)
	apply(t, f, snap("recent", "i", 1), t0.Add(30*time.Minute))
	f.Watch(func() {})
	f.Changes(t0, nil)
	// "old" went offline 10 s after t0 (interval 1 s): expired at t0+1h10s.
	if c := f.Counts(t0.Add(time.Hour)); c.Hosts != 2 {
		t.Fatalf("a host offline for less than HOST_EXPIRE was forgotten: %+v", c)
	}
	c := f.Counts(t0.Add(time.Hour + time.Minute))
	if c.Hosts != 1 || c.Expired != 1 {
		t.Fatalf("counts %+v, want old expired and recent kept", c)
	}
	if _, _, ok := hostEntry(f, "old", t0.Add(time.Hour+time.Minute)); ok {
		t.Fatal("an expired host is still served")
	}
	ups := f.Changes(t0.Add(time.Hour+time.Minute), nil)
	if len(ups) != 1 || ups[0].Entry.Host != "old" || !ups[0].Removed {
		t.Fatalf("changes %+v, want old removed", ups)
	}
	// Expire 0: never.
	f = New(Config{HistorySize: 5, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	apply(t, f, snap("old", "i", 1), t0)
	if c := f.Counts(t0.Add(365 * 24 * time.Hour)); c.Hosts != 1 {
		t.Fatalf("HOST_EXPIRE 0 forgot a host: %+v", c)
	}
}

// TestFullTableEvictsLongestOffline: junk names that filled MAX_HOSTS and
// went quiet make room for a live host, longest offline first; with every
// host live, a new one is refused.
func TestFullTableEvictsLongestOffline(t *testing.T) {
	f := New(Config{HistorySize: 5, MaxHosts: 3, StaleAfter: 3, OfflineAfter: 10})
	t0 := time.Unix(100_000, 0)
	for i, name := range []string{"junk1", "junk0", "junk2"} {
		apply(t, f, snap(name, "i", 1), t0.Add(time.Duration(i)*time.Second))
	}
	now := t0.Add(time.Minute) // all three offline; junk1 the longest
	if got := apply(t, f, snap("real", "i", 1), now); got != Accepted {
		t.Fatalf("a live host was %v while offline hosts filled the table", got)
	}
	if _, _, ok := hostEntry(f, "junk1", now); ok {
		t.Fatal("junk1 (offline longest) was not the one evicted")
	}
	for _, n := range []string{"junk0", "junk2", "real"} {
		if _, _, ok := hostEntry(f, n, now); !ok {
			t.Fatalf("%s evicted", n)
		}
	}
	if c := f.Counts(now); c.Evicted != 1 || c.Hosts != 3 {
		t.Fatalf("counts %+v", c)
	}
	// Now all live: a fourth is refused, the table is not churned.
	now = now.Add(2 * time.Minute)
	for _, n := range []string{"junk0", "junk2", "real"} {
		apply(t, f, snap(n, "i", 2), now)
	}
	if got := apply(t, f, snap("new", "i", 1), now); got != Refused {
		t.Fatalf("a new host was %v with every host live", got)
	}
}

// TestImplausibleIntervalIsNotBelieved: one message claiming a day's
// interval keeps its host live for minutes, not days; a genuine long
// interval is believed once the host's own gaps bear it out.
func TestImplausibleIntervalIsNotBelieved(t *testing.T) {
	f := testFleet()
	t0 := time.Unix(100_000, 0)
	fake := snap("fake", "i", 1)
	fake.IntervalSeconds = 86400
	apply(t, f, fake, t0)
	if got := f.hosts["fake"].status(f.cfg, t0.Add(time.Hour)); got != Offline {
		t.Fatalf("an hour after one message claiming 86400 s: %s, want offline", got)
	}
	// A publisher with PUBLISH_INTERVAL=1h: stale before its second
	// snapshot, then judged by the interval it keeps.
	slow := snap("slow", "i", 1)
	slow.IntervalSeconds = 3600
	apply(t, f, slow, t0)
	slow = snap("slow", "i", 2)
	slow.IntervalSeconds = 3600
	apply(t, f, slow, t0.Add(time.Hour))
	if got := f.hosts["slow"].status(f.cfg, t0.Add(time.Hour+50*time.Minute)); got != Live {
		t.Fatalf("a host keeping a 1 h interval is %s 50 min after its snapshot", got)
	}
}

// TestOneHostCostIsBounded: a host whose every snapshot names a thousand
// different long mount points keeps a bounded history, and the fleet's
// accounted bytes stay within its budget.
func TestOneHostCostIsBounded(t *testing.T) {
	f := New(Config{HistorySize: 300, MaxHosts: 1, StaleAfter: 3, OfflineAfter: 10})
	t0 := time.Unix(100_000, 0)
	for i := 1; i <= 60; i++ {
		s := snap("big", "i", uint64(i))
		s.Filesystems = nil
		for k := 0; k < 200; k++ {
			s.Filesystems = append(s.Filesystems, snapshot.Filesystem{
				Mountpoint: fmt.Sprintf("/%d/%d/%s", i, k, strings.Repeat("m", 900)), Percent: 1})
		}
		if got := apply(t, f, s, t0.Add(time.Duration(i)*time.Second)); got != Accepted {
			t.Fatalf("snapshot %d: %v", i, got)
		}
	}
	h := f.hosts["big"]
	if len(h.hist.sets) > maxMountSets || h.hist.setBytes > maxMountSetBytes+setCost(200)+200*nameCost(strings.Repeat("m", 920)) {
		t.Fatalf("%d mount lists, %d bytes of them kept", len(h.hist.sets), h.hist.setBytes)
	}
	c := f.Counts(t0.Add(60 * time.Second))
	if c.Bytes > c.MaxBytes+h.cost {
		t.Fatalf("accounted %d bytes, budget %d", c.Bytes, c.MaxBytes)
	}
	if h.hist.n == 0 || h.snap.IsZero() {
		t.Fatal("the host's latest state was dropped")
	}
}

// TestFleetKeepsTheSnapshotOnceAsPublished: a host's latest snapshot is
// kept as published and as figures, not decoded as well (at 100,000 hosts
// the decoded snapshots took 280 MB); Each still gives the counters.
func TestFleetKeepsTheSnapshotOnceAsPublished(t *testing.T) {
	f := New(Config{HistorySize: 10, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	freed := make(chan struct{})
	func() {
		s := snap("h", "i", 1)
		two := []float64{12.5, 1}
		s.CPUSeconds = &snapshot.CPUSeconds{User: two, Nice: two, System: two, Idle: two, Iowait: two, Irq: two, Softirq: two, Steal: two}
		runtime.AddCleanup(s, func(ch chan struct{}) { close(ch) }, freed)
		if got := apply(t, f, s, time.Now()); got != Accepted {
			t.Fatalf("apply: %v", got)
		}
	}()
	kept := true
	for i := 0; i < 20 && kept; i++ {
		runtime.GC()
		select {
		case <-freed:
			kept = false
		case <-time.After(10 * time.Millisecond):
		}
	}
	if kept {
		t.Fatal("the fleet keeps the decoded snapshot")
	}
	var user []float64
	f.Each(time.Now(), func(v HostView) { user = v.Snapshot().CPUSeconds.User })
	if len(user) != 2 || user[0] != 12.5 {
		t.Fatalf("Each gives cpu seconds %v, want [12.5 1]", user)
	}
}
