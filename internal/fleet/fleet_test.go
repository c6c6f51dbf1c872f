package fleet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

func TestWindow(t *testing.T) {
	var w window
	for _, s := range []uint64{1, 2, 3, 5} {
		if w.seen(s) {
			t.Fatalf("%d reported as seen", s)
		}
	}
	for _, s := range []uint64{1, 2, 3, 5} {
		if !w.seen(s) {
			t.Fatalf("duplicate %d not detected", s)
		}
	}
	if w.seen(4) {
		t.Fatal("late 4 reported as duplicate")
	}
	if !w.seen(4) {
		t.Fatal("second 4 not detected")
	}
	if w.seen(200) || w.seen(100) || !w.seen(100) {
		t.Fatal("a number skipped inside the window must be accepted once")
	}
	var w2 window
	if w2.seen(70) || w2.seen(69) {
		t.Fatal("a first number must not mark others")
	}
}

// TestForgedSeqCannotSilenceAHost: one message with the host's instance id
// and a sequence number far from the genuine ones (2^64-1, or far behind)
// must not make the genuine snapshots that follow duplicates.
func TestForgedSeqCannotSilenceAHost(t *testing.T) {
	for _, forged := range []uint64{math.MaxUint64, 5000, 1 << 40, 3, 1100} {
		var w window
		for s := uint64(100); s < 110; s++ {
			w.seen(s)
		}
		w.seen(forged)
		for s := uint64(110); s < 2000; s++ {
			if w.seen(s) && s != forged {
				t.Fatalf("forged seq %d: genuine seq %d dropped as a duplicate", forged, s)
			}
		}
		if !w.seen(1999) {
			t.Fatalf("forged seq %d: dedupe no longer works afterwards", forged)
		}
	}
	// Through the fleet: the forged message, then genuine ones, all accepted.
	f := testFleet()
	now := time.Unix(1000, 0)
	for _, seq := range []uint64{1, 2, math.MaxUint64, 3, 4, 5} {
		s := snap("a", "i1", seq)
		if got := f.Apply(s, body(s), "", now); got != Accepted {
			t.Fatalf("seq %d: %v, want accepted", seq, got)
		}
	}
	// Re-sends after a reconnect (up to an outbox behind) are still caught.
	var w window
	for s := uint64(1); s <= 1000; s++ {
		w.seen(s)
	}
	for s := uint64(1); s <= 1000; s++ {
		if !w.seen(s) {
			t.Fatalf("re-sent seq %d not detected", s)
		}
	}
}

func snap(host, inst string, seq uint64) *snapshot.Snapshot {
	return &snapshot.Snapshot{Timestamp: "t", CPUPercent: float64(seq % 100), Memory: snapshot.Memory{Total: 1, Percent: 10},
		Host: host, InstanceID: inst, Seq: seq, IntervalSeconds: 1, CPUPerCore: []float64{1, 2},
		Filesystems: []snapshot.Filesystem{{Mountpoint: "/", Percent: 50}}}
}

func body(s *snapshot.Snapshot) []byte {
	b, err := snapshot.Encode(s)
	if err != nil {
		panic(err)
	}
	return b
}

// hostEntry is one host's entry and history, as GET /api/hosts/{name} has them.
func hostEntry(f *Fleet, name string, now time.Time) (Entry, []Point, bool) {
	return f.Host(name, now, -1)
}

func testFleet() *Fleet {
	return New(Config{HistorySize: 5, MaxHosts: 3, StaleAfter: 3, OfflineAfter: 10})
}

// TestInstancesRemembered: a host remembers the windows of its last
// maxInstances publisher instances, each on its own, and forgets the oldest
// beyond them (its re-sent snapshot is then taken as new).
func TestInstancesRemembered(t *testing.T) {
	f := testFleet()
	now := time.Unix(1000, 0)
	apply := func(inst string, seq uint64) Outcome {
		return f.Apply(snap("a", inst, seq), body(snap("a", inst, seq)), "", now)
	}
	for k := range maxInstances {
		for seq := uint64(1); seq <= 3; seq++ {
			if apply(fmt.Sprintf("i%d", k), seq) != Accepted {
				t.Fatalf("instance %d seq %d not accepted", k, seq)
			}
		}
	}
	for k := range maxInstances {
		if apply(fmt.Sprintf("i%d", k), 2) != Duplicate {
			t.Fatalf("instance %d: a re-sent snapshot was accepted", k)
		}
	}
	if apply("new", 1) != Accepted || apply("new", 1) != Duplicate {
		t.Fatal("a new instance's window")
	}
	// The oldest (i0) is forgotten, the others still known.
	if apply("i0", 2) != Accepted {
		t.Fatal("the oldest instance is still remembered")
	}
	if apply("i3", 3) != Duplicate {
		t.Fatal("a newer instance was forgotten")
	}
}

func TestApplyDedupesAndKeepsHistory(t *testing.T) {
	f := testFleet()
	now := time.Unix(1000, 0)
	for i := uint64(1); i <= 7; i++ {
		if f.Apply(snap("a", "i1", i), body(snap("a", "i1", i)), "", now) != Accepted {
			t.Fatalf("seq %d not accepted", i)
		}
	}
	if f.Apply(snap("a", "i1", 7), body(snap("a", "i1", 7)), "", now) != Duplicate || f.Apply(snap("a", "i1", 3), body(snap("a", "i1", 3)), "", now) != Duplicate {
		t.Fatal("duplicates accepted")
	}
	// A restarted publisher (new instance) starts again at 1.
	if f.Apply(snap("a", "i2", 1), body(snap("a", "i2", 1)), "", now) != Accepted {
		t.Fatal("a new instance's first snapshot was dropped")
	}
	_, hist, ok := hostEntry(f, "a", now)
	if !ok {
		t.Fatal("host a unknown")
	}
	if len(hist) != 5 {
		t.Fatalf("history has %d points, want the ring's 5", len(hist))
	}
	// Oldest first: the last point is the newest snapshot (seq 1 of i2, cpu 1).
	if hist[4].CPU != 1 || hist[3].CPU != 7 {
		t.Fatalf("history order wrong: %v", hist)
	}
	c := f.Counts(now)
	if c.Accepted != 8 || c.Duplicates != 2 {
		t.Fatalf("counts %+v", c)
	}
}

func TestMaxHosts(t *testing.T) {
	f := testFleet()
	for i := 0; i < 3; i++ {
		s := snap(fmt.Sprint("h", i), "i", 1)
		f.Apply(s, body(s), "", time.Now())
	}
	if f.Apply(snap("h9", "i", 1), body(snap("h9", "i", 1)), "", time.Now()) != Refused {
		t.Fatal("a fourth host was accepted with MaxHosts 3")
	}
	if f.Apply(snap("h1", "i", 2), body(snap("h1", "i", 2)), "", time.Now()) != Accepted {
		t.Fatal("a known host was refused")
	}
}

func TestStatus(t *testing.T) {
	f := testFleet()
	t0 := time.Unix(1000, 0)
	f.Apply(snap("a", "i", 1), body(snap("a", "i", 1)), "", t0)
	for _, c := range []struct {
		after time.Duration
		want  string
	}{{time.Second, Live}, {3500 * time.Millisecond, Stale}, {11 * time.Second, Offline}} {
		if got := f.hosts["a"].status(f.cfg, t0.Add(c.after)); got != c.want {
			t.Errorf("after %v: %s, want %s", c.after, got, c.want)
		}
	}
	bye := snap("a", "i", 2)
	bye.Goodbye = true
	f.Apply(bye, body(bye), "", t0)
	if got := f.hosts["a"].status(f.cfg, t0); got != Offline {
		t.Fatalf("after goodbye: %s", got)
	}
}

func TestPrototypeMessagesGetAName(t *testing.T) {
	f := testFleet()
	p := snap("", "", 0)
	f.Apply(p, body(p), "", time.Now())
	f.Apply(p, body(p), "", time.Now()) // no instance/seq: nothing to dedupe on, both count
	f.Apply(p, body(p), "legacy-box", time.Now())
	if _, _, ok := hostEntry(f, "prototype", time.Now()); !ok {
		t.Fatal("no host named prototype")
	}
	e, _, ok := hostEntry(f, "legacy-box", time.Now())
	if !ok {
		t.Fatal("routing key not used as host name")
	}
	if !e.Legacy {
		t.Fatal("legacy flag not set")
	}
}

func BenchmarkApply(b *testing.B) {
	f := New(Config{HistorySize: 300, StaleAfter: 3, OfflineAfter: 10})
	snaps := make([]*snapshot.Snapshot, 1000)
	bodies := make([][]byte, len(snaps))
	for i := range snaps {
		snaps[i] = snap(fmt.Sprint("host-", i), "i", 1)
		bodies[i] = body(snaps[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := snaps[i%len(snaps)]
		s.Seq++
		f.Apply(s, bodies[i%len(snaps)], "", time.Now())
		i++
	}
}

// BenchmarkCounts is /api/status's and each scrape's look at the fleet:
// the hosts' states counted, under the fleet's lock, at 100,000 hosts last
// seen 0 to 19 s ago at a 1 s interval (live up to 3 s, stale up to 10 s).
func BenchmarkCounts(b *testing.B) {
	f := New(Config{HistorySize: 1, StaleAfter: 3, OfflineAfter: 10})
	now := time.Now()
	for i := range 100_000 {
		s := snap(fmt.Sprint("host-", i), "i", 1)
		f.Apply(s, body(s), "", now.Add(-time.Duration(i%20)*time.Second))
	}
	var c Counts
	for b.Loop() {
		c = f.Counts(now)
	}
	if c.Live != 20_000 || c.Stale != 35_000 || c.Offline != 45_000 {
		b.Fatalf("%d live, %d stale, %d offline; want 20,000, 35,000 and 45,000", c.Live, c.Stale, c.Offline)
	}
}

// TestFloors: a host publishing every second is not stale after 3 s nor
// offline after 10 s when the floors say 10 s and 60 s; a slow one keeps
// its 3 and 10 intervals.
func TestFloors(t *testing.T) {
	cfg := Config{StaleAfter: 3, OfflineAfter: 10, StaleFloor: 10 * time.Second, OfflineFloor: time.Minute}
	t0 := time.Now()
	for _, c := range []struct {
		interval float64
		age      time.Duration
		want     string
	}{
		{1, 4 * time.Second, Live}, {1, 11 * time.Second, Stale}, {1, 59 * time.Second, Stale}, {1, 61 * time.Second, Offline},
		{30, 89 * time.Second, Live}, {30, 91 * time.Second, Stale}, {30, 301 * time.Second, Offline},
	} {
		if got := status(cfg, t0, c.interval, false, t0.Add(c.age)); got != c.want {
			t.Errorf("interval %gs, silent %v: %s, want %s", c.interval, c.age, got, c.want)
		}
	}
}

// TestForget: a forgotten host is gone, its removal logged for dashboards,
// and it comes back when it publishes again.
func TestForget(t *testing.T) {
	f := New(Config{HistorySize: 4, StaleAfter: 3, OfflineAfter: 10})
	f.Watch(func() {})
	s := &snapshot.Snapshot{Host: "old-db", CPUPercent: 1, IntervalSeconds: 1}
	now := time.Now()
	f.Apply(s, []byte(`{"host":"old-db"}`), "", now)
	if f.Forget("nobody") {
		t.Error("an unknown host was forgotten")
	}
	if !f.Forget("old-db") {
		t.Fatal("old-db not forgotten")
	}
	if _, _, found := f.Host("old-db", now, -1); found {
		t.Error("old-db still known")
	}
	ch := f.Changes(time.Time{}, nil)
	if last := ch[len(ch)-1]; !last.Removed || last.Entry.Host != "old-db" {
		t.Errorf("last change %+v, want old-db removed", last)
	}
	if c := f.Counts(now); c.Forgotten != 1 || c.Hosts != 0 {
		t.Errorf("counts %+v, want 1 forgotten, 0 hosts", c)
	}
	f.Apply(s, []byte(`{"host":"old-db"}`), "", now)
	if _, _, found := f.Host("old-db", now, -1); !found {
		t.Error("old-db did not come back when it published again")
	}
}

// TestStatesCarryTheLatestSnapshot: States gives each host's latest
// snapshot as filed, and when (the forwarder sends it on), into the
// caller's buffer.
func TestStatesCarryTheLatestSnapshot(t *testing.T) {
	f := testFleet()
	t0 := time.Now()
	for i, h := range []string{"b", "a", "b"} {
		s := snap(h, "i", uint64(i+1))
		f.Apply(s, body(s), "", t0.Add(time.Duration(i)*time.Second))
	}
	got := f.States(t0.Add(2*time.Second), []HostState{{Name: "dropped"}})
	sort.Slice(got, func(i, j int) bool { return got[i].Name < got[j].Name })
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Fatalf("got %+v", got)
	}
	if want := body(snap("b", "i", 3)); string(got[1].Snapshot.Plain()) != string(want) || !got[1].LastSeen.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("b: %s at %v, want %s at %v", got[1].Snapshot.Plain(), got[1].LastSeen, want, t0.Add(2*time.Second))
	}
	if !got[0].LastSeen.Equal(t0.Add(time.Second)) || got[0].Instance != "i" {
		t.Fatalf("a: %+v", got[0])
	}
}

// TestCountsFollowTheHosts: Counts reads each host's times from their own
// array (clocks), which hosts coming, changing interval, saying goodbye and
// leaving (forgotten, evicted, expired) keep in step with the hosts: at every
// step its counts are the hosts' own states.
func TestCountsFollowTheHosts(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	f := New(Config{HistorySize: 2, StaleAfter: 3, OfflineAfter: 10, MaxHosts: 20, Expire: 30 * time.Minute})
	rng := rand.New(rand.NewPCG(1, 2))
	now := t0
	seq := uint64(0)
	for step := range 3000 {
		now = now.Add(time.Duration(rng.IntN(4000)) * time.Millisecond)
		name := fmt.Sprint("host-", rng.IntN(60))
		switch op := rng.IntN(10); {
		case op < 7:
			seq++
			s := snap(name, "i", seq)
			s.IntervalSeconds = float64(1 + rng.IntN(30))
			s.Goodbye = rng.IntN(20) == 0
			f.Apply(s, body(s), "", now)
		case op < 8:
			f.Forget(name)
		default: // time passes: hosts go stale, offline, and expire
			now = now.Add(time.Duration(rng.IntN(300)) * time.Second)
		}
		var want Counts
		for _, st := range f.States(now, nil) {
			switch st.Status {
			case Live:
				want.Live++
			case Stale:
				want.Stale++
			default:
				want.Offline++
			}
		}
		got := f.Counts(now)
		if got.Live != want.Live || got.Stale != want.Stale || got.Offline != want.Offline || got.Hosts != len(f.hosts) || len(f.clocks) != len(f.hosts) {
			t.Fatalf("step %d: counts %d live, %d stale, %d offline of %d (%d clocks), the hosts say %d, %d, %d of %d",
				step, got.Live, got.Stale, got.Offline, got.Hosts, len(f.clocks), want.Live, want.Stale, want.Offline, len(f.hosts))
		}
	}
	if f.evicted.Load() == 0 || f.expired.Load() == 0 || f.forgotten.Load() == 0 {
		t.Fatalf("the walk never evicted (%d), expired (%d) or forgot (%d) a host", f.evicted.Load(), f.expired.Load(), f.forgotten.Load())
	}
}

// TestHostsSortedByName: Hosts gives every host once, sorted by name,
// whatever the order they came in and the clocks' order after removals,
// and a buffer kept from the call before holds nothing of it after.
func TestHostsSortedByName(t *testing.T) {
	f := New(Config{HistorySize: 1, StaleAfter: 3, OfflineAfter: 10})
	now := time.Now()
	rnd := rand.New(rand.NewPCG(1, 2))
	var want []string
	for _, i := range rnd.Perm(500) {
		name := fmt.Sprintf("host-%03d", i)
		want = append(want, name)
		s := snap(name, "i", 1)
		f.Apply(s, body(s), "", now)
	}
	slices.Sort(want)
	names := func(es []Entry) []string {
		var n []string
		for _, e := range es {
			n = append(n, e.Host)
		}
		return n
	}
	buf := f.Hosts(now, nil)
	if got := names(buf); !slices.Equal(got, want) {
		t.Fatalf("hosts %v…, want %v…", got[:5], want[:5])
	}
	// Forgetting hosts moves the last clocks into their places.
	for _, i := range []int{0, 17, 250, 499} {
		name := fmt.Sprintf("host-%03d", i)
		if !f.Forget(name) {
			t.Fatalf("%s not forgotten", name)
		}
		want = slices.DeleteFunc(want, func(n string) bool { return n == name })
	}
	buf = f.Hosts(now, buf)
	if got := names(buf); !slices.Equal(got, want) {
		t.Fatalf("after forgetting four: %d hosts, first %v, want %d, first %v", len(got), got[:3], len(want), want[:3])
	}
	// The sort on its own: every permutation of a few, and random ones.
	for n := range 7 {
		for range 50 {
			es := make([]Entry, n)
			for i, k := range rnd.Perm(n) {
				es[i] = Entry{Host: fmt.Sprint(k), Interval: float64(k)}
			}
			sortByName(es, func(e *Entry) string { return e.Host })
			for i, e := range es {
				if e.Host != fmt.Sprint(i) || e.Interval != float64(i) {
					t.Fatalf("sorted %d entries: %+v at %d", n, e, i)
				}
			}
		}
	}
}
