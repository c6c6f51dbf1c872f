package consumer

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/history"
	"github.com/sysmon-dev/sysmon/internal/packed"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// memStore records what the consumer writes (a unit-test double of the
// store; the e2e tests run the real one).
type memStore struct {
	mu      sync.Mutex
	samples map[string][]history.Sample
	events  []history.Event
	latest  map[string]history.Latest
}

func newMemStore() *memStore {
	return &memStore{samples: map[string][]history.Sample{}, latest: map[string]history.Latest{}}
}

func (m *memStore) Add(host string, s history.Sample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples[host] = append(m.samples[host], s)
}

func (m *memStore) AddEvent(e history.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
}

func (m *memStore) SaveLatest(host string, l history.Latest) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// What the store writes, and Latest returns: the text.
	l.Body, l.Packed = l.Text(), packed.JSON{}
	m.latest[host] = l
}

func (m *memStore) kinds(host string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, e := range m.events {
		if e.Host == host {
			out = append(out, e.Kind)
		}
	}
	return out
}

func snapAt(t *testing.T, host, inst string, seq uint64, at *time.Time, bye bool) []byte {
	t.Helper()
	s := &snapshot.Snapshot{Timestamp: "t", Time: at, CPUPercent: 42, Memory: snapshot.Memory{Total: 1, Percent: 10},
		Host: host, InstanceID: inst, Seq: seq, IntervalSeconds: 1, CPUPerCore: []float64{1, 2}, Goodbye: bye,
		Filesystems: []snapshot.Filesystem{{Mountpoint: "/", Percent: 50}}}
	b, err := snapshot.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSampleTime: snapshots are filed at their sampling time, late ones
// included; a prototype message, a time in the future or an absurd one at
// their receipt.
func TestSampleTime(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	for _, c := range []struct {
		sampled *time.Time
		want    time.Time
	}{
		{nil, now},
		{at(-3 * time.Second), now.Add(-3 * time.Second)},
		{at(-6 * time.Hour), now.Add(-6 * time.Hour)}, // from an outbox, after an outage
		{at(30 * time.Second), now.Add(30 * time.Second)},
		{at(2 * time.Hour), now},
		{at(-2 * 365 * 24 * time.Hour), now},
	} {
		if got := SampleTime(c.sampled, now, 365*24*time.Hour); !got.Equal(c.want) {
			t.Errorf("sampled %v: filed at %v, want %v", c.sampled, got, c.want)
		}
	}
}

// TestRecorderFilesSamplesAndEvents: through Ingest, each accepted
// snapshot becomes a sample at its sampling time and the host's latest
// message; duplicates write nothing; each change of state is one event.
func TestRecorderFilesSamplesAndEvents(t *testing.T) {
	in, f := testIngest(t)
	st := newMemStore()
	rec := NewRecorder(f, st, 365*24*time.Hour, discard)
	in.History = rec
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	in.Handle(&amqp.Delivery{Body: snapAt(t, "db-01", "i1", 1, &t0, false)})
	in.Handle(&amqp.Delivery{Body: snapAt(t, "db-01", "i1", 1, &t0, false)}) // duplicate
	t1 := t0.Add(time.Second)
	in.Handle(&amqp.Delivery{Body: snapAt(t, "db-01", "i1", 2, &t1, false)})
	if s := st.samples["db-01"]; len(s) != 2 || !s[0].T.Equal(t0) || !s[1].T.Equal(t1) || s[1].CPU != 42 || len(s[1].Cores) != 2 || s[1].FS[0] != (history.FSUse{Mount: "/", Pct: 50}) || !math.IsNaN(float64(s[1].Swap)) {
		t.Fatalf("samples %+v, want two at the sampling times", s)
	}
	if l := st.latest["db-01"]; l.Host != "db-01" || !json.Valid(l.Body) || time.Since(l.LastSeen) > time.Minute {
		t.Fatalf("latest %+v", l)
	}
	if k := st.kinds("db-01"); !slices.Equal(k, []string{"online"}) {
		t.Fatalf("events %v, want online once", k)
	}

	// Time makes the host stale, then offline: one event each, however
	// many ticks.
	now := time.Now()
	for _, d := range []time.Duration{0, 5, 6, 20, 30} {
		rec.Tick(now.Add(d * time.Second))
	}
	if k := st.kinds("db-01"); !slices.Equal(k, []string{"online", "stale", "offline"}) {
		t.Fatalf("events %v, want online, stale, offline", k)
	}
	// A new instance: restart, and online again; then goodbye, and no
	// offline after it.
	in.Handle(&amqp.Delivery{Body: snapAt(t, "db-01", "i2", 1, nil, false)})
	in.Handle(&amqp.Delivery{Body: snapAt(t, "db-01", "i2", 2, nil, true)})
	rec.Tick(time.Now().Add(time.Minute))
	if k := st.kinds("db-01"); !slices.Equal(k, []string{"online", "stale", "offline", "restart", "online", "goodbye"}) {
		t.Fatalf("events %v", k)
	}
	// A prototype message (no time) is filed at receipt.
	proto := []byte(`{"timestamp":"2024-01-01 00:00:00","cpu_percent":1,"memory":{"total":1,"used":1,"free":0,"percent":1},"disk":{"total":1,"used":1,"free":0,"percent":1}}`)
	in.Handle(&amqp.Delivery{Body: proto, RoutingKey: "legacy"})
	if s := st.samples["legacy"]; len(s) != 1 || time.Since(s[0].T) > time.Minute {
		t.Fatalf("prototype sample %+v, want one at receipt", s)
	}
}

// TestRestoreAfterRestart: the fleet refilled from the store shows the same
// hosts, with their real last-seen time and their charts, and the recorder
// takes them in their state without events; a host whose stored message
// no longer decodes is skipped.
func TestRestoreAfterRestart(t *testing.T) {
	in, f := testIngest(t)
	st := newMemStore()
	in.History = NewRecorder(f, st, 365*24*time.Hour, discard)
	for i := range uint64(5) {
		ts := time.Now().Add(time.Duration(i) * time.Millisecond)
		in.Handle(&amqp.Delivery{Body: snapAt(t, "web-01", "i1", i+1, &ts, false)})
	}
	st.latest["broken"] = history.Latest{Host: "broken", Body: []byte("{"), LastSeen: time.Now()}
	st.latest["expired"] = history.Latest{Host: "expired", Body: snapAt(t, "expired", "i", 1, nil, false), LastSeen: time.Now().Add(-8 * 24 * time.Hour)}
	var latest []history.Latest
	for _, l := range st.latest {
		latest = append(latest, l)
	}
	recent := func(h string, n int) []history.Sample {
		st.mu.Lock()
		defer st.mu.Unlock()
		s := st.samples[h]
		return slices.Clone(s[max(0, len(s)-n):])
	}
	f2 := fleet.New(fleet.Config{HistorySize: 10, Recent: recent, MaxHosts: 100, StaleAfter: 3, OfflineAfter: 10})
	n, skipped := Restore(f2, latest, 1<<20, 7*24*time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if n != 1 || skipped != 1 {
		t.Fatalf("restored %d, skipped %d; want 1 and 1", n, skipped)
	}
	e, pts, ok := f2.Host("web-01", time.Now(), -1)
	if !ok || len(pts) != 5 || !e.LastSeen.Equal(st.latest["web-01"].LastSeen) || e.Status != fleet.Live {
		t.Fatalf("restored %+v with %d points", e, len(pts))
	}
	st2 := newMemStore()
	rec := NewRecorder(f2, st2, time.Hour, discard)
	rec.Tick(time.Now())
	in2 := NewIngest(f2, 1<<20, slog.New(slog.NewTextHandler(io.Discard, nil)))
	in2.History = rec
	in2.Handle(&amqp.Delivery{Body: snapAt(t, "web-01", "i1", 6, nil, false)})
	if k := st2.kinds("web-01"); len(k) != 0 {
		t.Fatalf("events %v after a restart for a host that stayed live, want none", k)
	}
}

var discard = slog.New(slog.DiscardHandler)

// TestRecorderBoundsEvents: a publisher that changes its instance id at
// every message writes at most MaxEventsPerMinute events a minute; the rest
// are counted.
func TestRecorderBoundsEvents(t *testing.T) {
	in, f := testIngest(t)
	st := newMemStore()
	rec := NewRecorder(f, st, time.Hour, discard)
	in.History = rec
	for i := range 100 {
		in.Handle(&amqp.Delivery{Body: snapAt(t, "flappy", fmt.Sprint("i", i), 1, nil, false)})
	}
	if n := len(st.kinds("flappy")); n != MaxEventsPerMinute {
		t.Fatalf("%d events written, want %d", n, MaxEventsPerMinute)
	}
	if rec.Suppressed() != 100-MaxEventsPerMinute {
		t.Fatalf("%d suppressed, want %d", rec.Suppressed(), 100-MaxEventsPerMinute)
	}
	if len(st.samples["flappy"]) != 100 {
		t.Fatalf("%d samples: the figures must all be kept", len(st.samples["flappy"]))
	}
}

// TestLiveChartFromTheStoreAfterRestart: with the real store, the fleet
// keeps one point per host and a host view (GET /api/hosts?host=) still
// gets HISTORY_SIZE points, the newest snapshot's included before the
// store has written it; after a restart the same points come back.
func TestLiveChartFromTheStoreAfterRestart(t *testing.T) {
	const size, n = 20, 30
	dir := t.TempDir()
	ret := history.Retention{Raw: time.Hour, Minute: 24 * time.Hour, Hour: 48 * time.Hour}
	store, err := history.Open(dir, ret, discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fleet.Config{HistorySize: size, Recent: store.Recent, MaxHosts: 100, StaleAfter: 3, OfflineAfter: 10}
	f := fleet.New(cfg)
	in := NewIngest(f, 1<<20, discard)
	in.History = NewRecorder(f, store, ret.Hour, discard)
	start := time.Now().Add(-n * time.Second).Truncate(time.Second)
	for i := range n {
		ts := start.Add(time.Duration(i) * time.Second)
		in.Handle(&amqp.Delivery{Body: snapAt(t, "web-01", "i1", uint64(i+1), &ts, false)})
	}
	want := func(when string, pts []fleet.Point) {
		t.Helper()
		if len(pts) != size {
			t.Fatalf("%s: %d points, want HISTORY_SIZE (%d)", when, len(pts), size)
		}
		for i, p := range pts {
			if at := start.Add(time.Duration(n-size+i) * time.Second); p.T != at.UnixMilli() || p.CPU != 42 || len(p.Cores()) != 2 || p.FS()[0] != 50 {
				t.Fatalf("%s: point %d at %d, want %d", when, i, p.T, at.UnixMilli())
			}
		}
	}
	_, pts, _ := f.Host("web-01", time.Now(), -1)
	want("live", pts)
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store, err = history.Open(dir, ret, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cfg.Recent = store.Recent
	f = fleet.New(cfg)
	if n, skipped := Restore(f, store.Latest(), 1<<20, 0, discard); n != 1 || skipped != 0 {
		t.Fatalf("restored %d, skipped %d", n, skipped)
	}
	_, pts, _ = f.Host("web-01", time.Now(), -1)
	want("after a restart", pts)
}

// TestTickLooksOnlyWhenAHostMayChange: Tick looks at the fleet only when a
// host's state is due to change with time, a host was removed, or a minute
// has passed (100,000 hosts took a tenth of a second of a core every
// second), and records the same events, at the same ticks, as a recorder
// that looks at every tick: hosts at 1 s and 10 s that go stale, offline
// and come back, one that says goodbye, one forgotten while live that
// comes back.
func TestTickLooksOnlyWhenAHostMayChange(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 10, MaxHosts: 100, StaleAfter: 3, OfflineAfter: 10})
	lazy, every := newMemStore(), newMemStore()
	recLazy := NewRecorder(f, lazy, time.Hour, discard)
	recEvery := NewRecorder(f, every, time.Hour, discard)
	seq := map[string]uint64{}
	file := func(host string, interval float64, bye bool, now time.Time) {
		seq[host]++
		s := &snapshot.Snapshot{Timestamp: "t", CPUPercent: 1, Memory: snapshot.Memory{Total: 1, Percent: 1},
			Host: host, InstanceID: "i1", Seq: seq[host], IntervalSeconds: interval, Goodbye: bye}
		body, err := snapshot.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		if f.Apply(s, body, "", now) != fleet.Accepted {
			t.Fatalf("%s at %v not accepted", host, now)
		}
		recLazy.Accepted(s, body, "", now)
		recEvery.Accepted(s, body, "", now)
	}
	t0 := time.Now().Truncate(time.Second)
	looks := 0
	for sec := range 240 {
		now := t0.Add(time.Duration(sec) * time.Second)
		if sec < 30 || sec >= 100 && sec < 200 {
			file("a", 1, false, now)
		}
		if sec%10 == 0 && sec <= 120 {
			file("b", 10, false, now)
		}
		if sec%2 == 0 && sec <= 50 {
			file("c", 2, sec == 50, now)
		}
		if sec < 60 || sec >= 150 {
			file("d", 1, false, now)
		}
		if sec == 60 {
			f.Forget("d")
		}
		before := recLazy.looked
		recLazy.Tick(now.Add(time.Second / 2))
		if !recLazy.looked.Equal(before) {
			looks++
		}
		recEvery.looked = time.Time{}
		recEvery.Tick(now.Add(time.Second / 2))
		for _, v := range recLazy.views[:cap(recLazy.views)] {
			if !v.Snapshot.IsZero() {
				t.Fatalf("at %d s the recorder keeps %s's snapshot between its looks", sec, v.Name)
			}
		}
	}
	if !slices.Equal(lazy.events, every.events) {
		t.Fatalf("events differ:\nlooking when due: %v\nlooking each tick: %v", lazy.events, every.events)
	}
	want := map[string][]string{
		"a": {"online", "stale", "offline", "online", "stale", "offline"},
		"b": {"online", "stale", "offline"},
		"c": {"online", "goodbye"},
		"d": {"online", "online"},
	}
	for h, k := range want {
		if got := lazy.kinds(h); !slices.Equal(got, k) {
			t.Errorf("%s: events %v, want %v", h, got, k)
		}
	}
	// A host at 1 s is due stale 3 s after the look that saw its last
	// snapshot: the recorder looks every third tick while one publishes.
	if looks > 120 {
		t.Errorf("the recorder looked at the fleet at %d of 240 ticks, want at most 120", looks)
	}
}
