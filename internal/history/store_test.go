package history

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/packed"
)

var defRet = Retention{Raw: time.Hour, Minute: 7 * 24 * time.Hour, Hour: 365 * 24 * time.Hour}

// clock is a settable clock for tests that drive the store step by step.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openAt(t testing.TB, dir string, c *clock) *Store {
	t.Helper()
	s, err := open(dir, defRet, quietLog(), c.now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sampleAt makes a sample whose figures are derived from its time, so that
// a test can tell which sample it reads back.
func sampleAt(t time.Time) Sample {
	v := float32(t.Unix() % 1000)
	return Sample{
		T: t, CPU: v / 10, Mem: 50, Swap: float32(math.NaN()), Load1: 1, Load5: 2, Load15: 3,
		Rx: v * 100, Tx: 2, Rd: 3, Wr: 4,
		Cores: []float32{v / 10, 1, 2, 3},
		FS:    []FSUse{{"/", 40}, {"/var", v / 10}},
	}
}

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func TestStoreRoundTripAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s := openAt(t, dir, c)
	// 3 minutes at 1 Hz, one step per second as Run does.
	for i := range 180 {
		now := t0.Add(time.Duration(i) * time.Second)
		c.set(now)
		s.Add("db-01", sampleAt(now))
		s.step(now)
	}
	s.AddEvent(Event{T: t0.Add(time.Second), Host: "db-01", Kind: EventOnline})
	s.AddEvent(Event{T: t0.Add(2 * time.Second), Host: "web-01", Kind: EventOnline})
	s.SaveLatest("db-01", Latest{RoutingKey: "rk", Body: []byte(`{"x":1}`), LastSeen: t0})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, dir, c)
	defer s.Close()
	if l := s.Latest(); len(l) != 1 || l[0].Host != "db-01" || string(l[0].Body) != `{"x":1}` || !l[0].LastSeen.Equal(t0) {
		t.Fatalf("Latest after restart = %+v", l)
	}
	se, err := s.Query(context.Background(), "db-01", t0, t0.Add(3*time.Minute), 0)
	if err != nil {
		t.Fatal(err)
	}
	if se.Tier != TierRaw || len(se.T) != 180 || se.StepSeconds != 0 {
		t.Fatalf("raw query: tier %s, %d points, step %v; want raw, 180, 0", se.Tier, len(se.T), se.StepSeconds)
	}
	for i, ms := range se.T {
		want := sampleAt(time.UnixMilli(ms))
		if got := se.Figures["cpu"].Mean[i]; got != want.CPU {
			t.Fatalf("point %d: cpu %v, want %v", i, got, want.CPU)
		}
		if got := se.Figures["fs:/var"].Mean[i]; got != want.FS[1].Pct {
			t.Fatalf("point %d: fs:/var %v, want %v", i, got, want.FS[1].Pct)
		}
	}
	if se.Figures["swap"] != nil {
		t.Error("swap was NaN in every sample, yet the series has it")
	}
	if len(se.Cores) != 4 || se.Cores[0].Mean[5] != se.Figures["cpu"].Mean[5] {
		t.Errorf("cores: %d series", len(se.Cores))
	}
	if r := s.Recent("db-01", 10); len(r) != 10 || !r[9].T.Equal(t0.Add(179*time.Second)) || !r[0].T.Equal(t0.Add(170*time.Second)) {
		t.Fatalf("Recent: %d samples, last %v", len(r), r[len(r)-1].T)
	}
	ev, err := s.Events(context.Background(), "", t0, t0.Add(time.Hour), 0)
	if err != nil || len(ev) != 2 || ev[0].Host != "web-01" || ev[1].Host != "db-01" {
		t.Fatalf("Events (fleet) = %+v, %v", ev, err)
	}
	ev, _ = s.Events(context.Background(), "db-01", t0, t0.Add(time.Hour), 0)
	if len(ev) != 1 || ev[0].Kind != EventOnline {
		t.Fatalf("Events (db-01) = %+v", ev)
	}

	// The minute tier has the two sealed minutes with min/mean/max.
	se, err = s.Query(context.Background(), "db-01", t0, t0.Add(3*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if se.Tier != TierMinute || se.StepSeconds != 60 || len(se.T) < 2 {
		t.Fatalf("minute query: tier %s step %v points %d", se.Tier, se.StepSeconds, len(se.T))
	}
	cpu := se.Figures["cpu"]
	var wantMin, wantMax, sum float32 = 1e9, -1, 0
	for i := range 60 {
		v := sampleAt(t0.Add(time.Duration(i) * time.Second)).CPU
		wantMin, wantMax, sum = min(wantMin, v), max(wantMax, v), sum+v
	}
	if cpu.Min[0] != wantMin || cpu.Max[0] != wantMax || math.Abs(float64(cpu.Mean[0]-sum/60)) > 1e-3 {
		t.Fatalf("minute 0 cpu: min %v mean %v max %v; want %v %v %v", cpu.Min[0], cpu.Mean[0], cpu.Max[0], wantMin, sum/60, wantMax)
	}
	st := s.Stats()
	if st.Rows[TierRaw] != 2 || st.Rows[TierMinute] != 2 || st.Rows[TierHour] != 1 || st.Bytes == 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestStoreRefusesFutureAndAncient(t *testing.T) {
	c := &clock{t: t0}
	s := openAt(t, t.TempDir(), c)
	defer s.Close()
	s.Add("h", sampleAt(t0.Add(2*time.Minute)))
	s.Add("h", sampleAt(t0.Add(-400*24*time.Hour)))
	s.Add("h", sampleAt(t0))
	s.step(t0)
	if st := s.Stats(); st.Refused != 2 || st.Written != 1 {
		t.Fatalf("refused %d written %d, want 2 and 1", st.Refused, st.Written)
	}
}

func TestOpenRefusesNewerFormat(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s := openAt(t, dir, c)
	s.Close()
	setVersion(t, dir, formatVersion+1)
	_, err := open(dir, defRet, quietLog(), c.now)
	if err == nil || !strings.Contains(err.Error(), "newer than this sysmon") {
		t.Fatalf("open of a newer format: %v", err)
	}
}

// A store in use by another consumer is refused with the likely cause
// (after bbolt's 2 s wait for the lock).
func TestOpenRefusesALockedStore(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s := openAt(t, dir, c)
	defer s.Close()
	_, err := open(dir, defRet, quietLog(), c.now)
	if err == nil || !strings.Contains(err.Error(), "is another sysmon-consumer using") {
		t.Fatalf("second open: %v", err)
	}
}

// TestRecentHasEverySampleAdded: Recent, the dashboard's live chart once the
// fleet keeps no history of its own, has every sample added, whether it
// still waits for the next flush, is being written to the log (the flush's
// fsync), is in the head or sealed, each once.
func TestRecentHasEverySampleAdded(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s := openAt(t, dir, c)
	defer s.Close()
	check := func(when string, want int) {
		t.Helper()
		got := s.Recent("db-01", 1000)
		if len(got) != want {
			t.Fatalf("%s: Recent has %d samples, want %d", when, len(got), want)
		}
		for i := range got {
			if w := t0.Add(time.Duration(i) * time.Second); !got[i].T.Equal(w) || got[i].CPU != sampleAt(w).CPU {
				t.Fatalf("%s: sample %d at %v (cpu %v), want %v", when, i, got[i].T, got[i].CPU, w)
			}
		}
	}
	for i := range 90 {
		s.Add("db-01", sampleAt(t0.Add(time.Duration(i)*time.Second)))
	}
	check("buffered", 90)
	// While the flush writes the log, the samples are neither buffered nor
	// in the head yet.
	var during int
	s.fault = func(op string) error {
		if op == "wal" {
			during = len(s.Recent("db-01", 1000))
		}
		return nil
	}
	now := t0.Add(90 * time.Second)
	c.set(now)
	s.flush(now, true)
	s.fault = nil
	if during != 90 {
		t.Fatalf("while the flush writes the log, Recent has %d samples, want 90", during)
	}
	check("in the head", 90)
	s.Add("db-01", sampleAt(t0.Add(90*time.Second)))
	now = t0.Add(3 * time.Minute)
	c.set(now)
	s.seal(now, false) // the first minute goes to the database
	check("sealed and in the head, one buffered", 91)
}

// TestLatestInBatches: more hosts' latest entries than one transaction
// writes (latestBatch) all come back after a restart.
func TestLatestInBatches(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s := openAt(t, dir, c)
	n := 2*latestBatch + 1
	for i := range n {
		s.SaveLatest(fmt.Sprintf("host-%05d", i), Latest{Body: []byte(`{"x":1}`), LastSeen: t0})
	}
	s.saveLatest(s.now())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir, c)
	defer s.Close()
	if l := s.Latest(); len(l) != n {
		t.Fatalf("%d latest entries after a restart, want %d", len(l), n)
	}
}

// TestLatestPackedIsWrittenAsText: a latest entry handed over packed (the
// fleet's copy) is written as the text, as one handed over plain is: the
// stored entries, and a store written before, read the same.
func TestLatestPackedIsWrittenAsText(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s := openAt(t, dir, c)
	text := []byte(`{"host":"db-01","cpu_percent":12.5,"processor":"AMD EPYC 7763 64-Core Processor AMD EPYC 7763"}`)
	s.SaveLatest("plain", Latest{RoutingKey: "rk", Body: text, LastSeen: t0})
	s.SaveLatest("packed", Latest{RoutingKey: "rk", Packed: packed.Of(text), LastSeen: t0})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir, c)
	defer s.Close()
	l := s.Latest()
	slices.SortFunc(l, func(a, b Latest) int { return strings.Compare(a.Host, b.Host) })
	if len(l) != 2 || l[0].Host != "packed" || l[1].Host != "plain" {
		t.Fatalf("Latest after restart = %+v", l)
	}
	for _, e := range l {
		if string(e.Body) != string(text) || e.RoutingKey != "rk" || !e.LastSeen.Equal(t0) || !e.Packed.IsZero() {
			t.Fatalf("%s after restart: %+v, want the text %s", e.Host, e, text)
		}
	}
}
