package history

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func rowsOf(t *testing.T, s *Store, tier int, host string) []int64 {
	t.Helper()
	var keys []int64
	_ = s.db.View(func(tx *bolt.Tx) error {
		hb := tx.Bucket(bTiers[tier]).Bucket([]byte(host))
		if hb == nil {
			return nil
		}
		return hb.ForEach(func(k, _ []byte) error { keys = append(keys, keyTime(k)); return nil })
	})
	return keys
}

// Late samples are filed at their own time in every tier that covers it,
// and fold into aggregates that exist already.
func TestLateSamplesLandInEveryTierThatCoversThem(t *testing.T) {
	c := &clock{t: t0}
	s := openAt(t, t.TempDir(), c)
	defer s.Close()
	tenMin := t0.Add(-10 * time.Minute)
	twoDays := t0.Add(-48 * time.Hour)
	month := t0.Add(-30 * 24 * time.Hour)
	a, b := sampleAt(month), sampleAt(month.Add(time.Minute))
	a.CPU, b.CPU = 10, 30
	s.Add("h", sampleAt(tenMin))
	s.Add("h", sampleAt(twoDays))
	s.Add("h", a)
	s.step(t0)
	s.Add("h", b) // the same hour: folded in at the next minute's seal
	s.step(t0.Add(time.Second))
	if g := hourRow(t, s, "h", month); g.N != 1 {
		t.Fatalf("the hour folds %d samples a second after a seal; a late sample waits for the next minute's seal", g.N)
	}
	s.step(t0.Add(time.Minute))

	want := map[int][]int64{
		tRaw:  {minuteOf(tenMin)},
		tMin:  {minuteOf(twoDays), minuteOf(tenMin)},
		tHour: {hourOf(month.Unix()), hourOf(twoDays.Unix()), hourOf(tenMin.Unix())},
	}
	for tier, w := range want {
		if got := rowsOf(t, s, tier, "h"); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("tier %s: rows %v, want %v", bTiers[tier], got, w)
		}
	}
	ctx := context.Background()
	se, err := s.Query(ctx, "h", month.Add(-time.Hour), month.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if se.Tier != TierHour {
		t.Fatalf("a month ago: tier %s", se.Tier)
	}
	cpu := se.Figures["cpu"]
	if len(se.T) != 1 || cpu.Min[0] != 10 || cpu.Max[0] != 30 || cpu.Mean[0] != 20 {
		t.Fatalf("the hour a month ago: %d points, cpu %v/%v/%v, want 10/20/30", len(se.T), cpu.Min, cpu.Mean, cpu.Max)
	}
	se, _ = s.Query(ctx, "h", twoDays.Add(-time.Hour), twoDays.Add(time.Hour), 0)
	if se.Tier != TierMinute || len(se.T) != 1 || se.T[0] != minuteOf(twoDays)*1000 {
		t.Fatalf("two days ago: tier %s, times %v", se.Tier, se.T)
	}
	if st := s.Stats(); st.Rows[TierRaw] != 1 || st.Rows[TierMinute] != 2 || st.Rows[TierHour] != 3 {
		t.Fatalf("rows %v", st.Rows)
	}
}

// A period without data is one point of nulls, never a line across it.
func TestQueryMarksGaps(t *testing.T) {
	c := &clock{t: t0}
	s := openAt(t, t.TempDir(), c)
	defer s.Close()
	ctx := context.Background()
	// Raw: 1 s spacing, a 60 s hole.
	for i := range 180 {
		if i >= 60 && i < 120 {
			continue
		}
		s.Add("raw", sampleAt(t0.Add(time.Duration(i-300)*time.Second)))
	}
	// Minutes a day ago: 0-4 and 10-14, every 10 s.
	day := t0.Add(-24 * time.Hour).Truncate(time.Hour)
	for m := range 15 {
		if m >= 5 && m < 10 {
			continue
		}
		for sec := 0; sec < 60; sec += 10 {
			s.Add("agg", sampleAt(day.Add(time.Duration(m)*time.Minute+time.Duration(sec)*time.Second)))
		}
	}
	s.step(t0)

	se, err := s.Query(ctx, "raw", t0.Add(-300*time.Second), t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(se.T) != 121 {
		t.Fatalf("raw: %d points, want 120 and one null", len(se.T))
	}
	cpu := se.Figures["cpu"].Mean
	if !math.IsNaN(float64(cpu[60])) || se.T[60] != t0.Add(-240*time.Second).UnixMilli() {
		t.Fatalf("raw: point 60 is %v at %v, want null 1 s after the last sample", cpu[60], time.UnixMilli(se.T[60]))
	}
	for i, v := range cpu {
		if i != 60 && math.IsNaN(float64(v)) {
			t.Fatalf("raw: null at %d", i)
		}
	}

	se, err = s.Query(ctx, "agg", day, day.Add(15*time.Minute), 0)
	if err != nil {
		t.Fatal(err)
	}
	if se.Tier != TierMinute || se.StepSeconds != 60 || len(se.T) != 11 {
		t.Fatalf("minutes: tier %s step %v, %d points; want 1m, 60, 11", se.Tier, se.StepSeconds, len(se.T))
	}
	mean := se.Figures["cpu"].Mean
	if !math.IsNaN(float64(mean[5])) || se.T[5] != day.Add(5*time.Minute).UnixMilli() || math.IsNaN(float64(mean[6])) {
		t.Fatalf("minutes: the gap is not one null point at minute 5: %v", mean)
	}
}

// More points than MaxPoints are folded into buckets with min and max.
func TestQueryDownSamples(t *testing.T) {
	c := &clock{t: t0}
	s := openAt(t, t.TempDir(), c)
	defer s.Close()
	for i := range 3000 {
		s.Add("h", sampleAt(t0.Add(time.Duration(i-3000)*time.Second)))
	}
	s.step(t0)
	se, err := s.Query(context.Background(), "h", t0.Add(-3000*time.Second), t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if se.Tier != TierRaw || se.StepSeconds != 3 || len(se.T) != 1000 && len(se.T) != 1001 {
		t.Fatalf("tier %s step %v, %d points; want raw, 3, about 1000", se.Tier, se.StepSeconds, len(se.T))
	}
	cpu := se.Figures["cpu"]
	for i := range se.T {
		if !(cpu.Min[i] <= cpu.Mean[i] && cpu.Mean[i] <= cpu.Max[i]) {
			t.Fatalf("point %d: min %v mean %v max %v", i, cpu.Min[i], cpu.Mean[i], cpu.Max[i])
		}
	}
	// A step wider than a minute asks for the minute tier.
	se, _ = s.Query(context.Background(), "h", t0.Add(-3000*time.Second), t0, 5*time.Minute)
	if se.Tier != TierMinute || se.StepSeconds != 300 {
		t.Fatalf("step 5m: tier %s step %v", se.Tier, se.StepSeconds)
	}
}

// Retention removes old rows in small steps and keeps the counts true.
func TestRetentionInSmallSteps(t *testing.T) {
	c := &clock{t: t0}
	s := openAt(t, t.TempDir(), c)
	defer s.Close()
	const hosts = 450
	for h := range hosts {
		for i := range 3 {
			s.Add(fmt.Sprintf("h%03d", h), sampleAt(t0.Add(time.Duration(i-180)*time.Second)))
		}
	}
	s.step(t0)
	if st := s.Stats(); st.Rows[TierRaw] != hosts {
		t.Fatalf("raw rows %d, want %d", st.Rows[TierRaw], hosts)
	}
	later := t0.Add(2 * time.Hour)
	steps := 0
	for s.Stats().Rows[TierRaw] > 0 {
		before := s.Stats().Rows[TierRaw]
		s.retain(later)
		if steps++; steps > 20 {
			t.Fatal("retention does not finish")
		}
		if got := before - s.Stats().Rows[TierRaw]; got > retainHosts {
			t.Fatalf("one step deleted %d rows of as many hosts; a step visits %d hosts at most", got, retainHosts)
		}
	}
	if steps < 3 {
		t.Fatalf("%d hosts gone in %d steps: the steps are not small", hosts, steps)
	}
	if st := s.Stats(); st.Rows[TierMinute] != hosts || st.Rows[TierHour] != hosts {
		t.Fatalf("the aggregates went too: %v", st.Rows)
	}
	if got := rowsOf(t, s, tRaw, "h000"); len(got) != 0 {
		t.Fatalf("raw rows left: %v", got)
	}
}

func TestForget(t *testing.T) {
	c := &clock{t: t0}
	s := openAt(t, t.TempDir(), c)
	defer func() { s.Close() }()
	for i := range 90 {
		s.Add("gone", sampleAt(t0.Add(time.Duration(i-120)*time.Second)))
		s.Add("kept", sampleAt(t0.Add(time.Duration(i-120)*time.Second)))
	}
	s.AddEvent(Event{T: t0, Host: "gone", Kind: EventOffline})
	s.AddEvent(Event{T: t0, Host: "kept", Kind: EventOffline})
	s.SaveLatest("gone", Latest{Body: []byte("{}"), LastSeen: t0})
	s.step(t0)
	s.Forget("gone")
	ctx := context.Background()
	se, err := s.Query(ctx, "gone", t0.Add(-time.Hour), t0, 0)
	if err != nil || len(se.T) != 0 {
		t.Fatalf("forgotten host: %d points, %v", len(se.T), err)
	}
	if ev, _ := s.Events(ctx, "", t0.Add(-time.Hour), t0, 0); len(ev) != 1 || ev[0].Host != "kept" {
		t.Fatalf("events after forget: %+v", ev)
	}
	if r := s.Recent("kept", 1000); len(r) != 90 {
		t.Fatalf("the other host: %d samples", len(r))
	}
	if st := s.Stats(); st.Rows[TierRaw] != 1 || st.Rows[TierMinute] != 1 || st.Rows[TierHour] != 1 { // the other host's sealed minute
		t.Fatalf("rows after forget: %v", st.Rows)
	}
	// Its last minute was only in the write-ahead log: a restart must not
	// bring it back.
	s.step(t0.Add(time.Second))
	dir := s.dir
	s.Close()
	s = openAt(t, dir, c)
	if r := s.Recent("gone", 1000); len(r) != 0 {
		t.Fatalf("after a restart the forgotten host has %d samples", len(r))
	}
	if r := s.Recent("kept", 1000); len(r) != 90 {
		t.Fatalf("after a restart the other host has %d samples", len(r))
	}
}

// Run writes every second and, when its context ends, what is buffered.
func TestRunFlushesOnStop(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, defRet, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	now := time.Now()
	s.Add("h", sampleAt(now))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, defRet, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r := s.Recent("h", 5); len(r) != 1 || !r[0].T.Equal(now.Truncate(time.Millisecond)) {
		t.Fatalf("after a restart: %+v", r)
	}
}

// A store from before format versions (v0) is migrated on Open: its
// events, keyed by time alone and held as JSON, are rewritten.
func TestOpenMigratesV0(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, dbName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := []Event{
		{T: t0, Host: "db-01", Kind: EventOnline},
		{T: t0.Add(time.Minute), Host: "db-01", Kind: EventRestart, Detail: "new instance"},
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bEvents)
		if err != nil {
			return err
		}
		for _, e := range evs {
			j, _ := json.Marshal(e)
			if err := b.Put(binary.BigEndian.AppendUint64(nil, uint64(e.T.UnixNano())), j); err != nil {
				return err
			}
		}
		_, err = tx.CreateBucket(bLatest)
		return err
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	c := &clock{t: t0.Add(time.Hour)}
	s := openAt(t, dir, c)
	got, err := s.Events(context.Background(), "db-01", t0, t0.Add(time.Hour), 0)
	if err != nil || len(got) != 2 || got[0].Kind != EventRestart || got[0].Detail != "new instance" || !got[1].T.Equal(t0) {
		t.Fatalf("events after migration: %+v, %v", got, err)
	}
	var v uint64
	_ = s.db.View(func(tx *bolt.Tx) error { v = binary.BigEndian.Uint64(tx.Bucket(bMeta).Get(kVersion)); return nil })
	if v != formatVersion {
		t.Fatalf("version after migration %d, want %d", v, formatVersion)
	}
	s.Close()
	// And it opens again as it is.
	s = openAt(t, dir, c)
	defer s.Close()
	if got, _ := s.Events(context.Background(), "", t0, t0.Add(time.Hour), 0); len(got) != 2 {
		t.Fatalf("events on the second open: %+v", got)
	}
}

// A late sample that lands in a chunk while that chunk is being sealed is
// kept for the next seal, not dropped with the sealed part.
func TestSampleIntoAChunkUnderSeal(t *testing.T) {
	c := &clock{t: t0}
	s := openAt(t, t.TempDir(), c)
	defer s.Close()
	for i := range 30 {
		s.Add("h", sampleAt(t0.Add(time.Duration(i-120)*time.Second)))
	}
	s.flush(t0, true)
	j := s.prepareSeal(t0, false)
	if j == nil {
		t.Fatal("nothing to seal")
	}
	s.Add("h", sampleAt(t0.Add(-90*time.Second))) // the minute being sealed
	s.flush(t0, false)
	s.finishSeal(j, s.commitSeal(j))
	if got := len(rowsOf(t, s, tRaw, "h")); got != 1 {
		t.Fatalf("%d raw rows", got)
	}
	s.seal(t0.Add(time.Minute), false)
	if r := s.Recent("h", 100); len(r) != 31 {
		t.Fatalf("%d samples, want 31", len(r))
	}
	// And in the row itself, not only in the head.
	var n int
	_ = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bTiers[tRaw]).Bucket([]byte("h")).Get(timeKey(minuteOf(t0.Add(-120 * time.Second))))
		smps, _ := decodeChunk(v, minuteOf(t0.Add(-120*time.Second))*1000, nil)
		n = len(smps)
		return nil
	})
	if n != 31 {
		t.Fatalf("the row holds %d samples, want 31", n)
	}
}

// Everything a consumer calls, from many goroutines while Run writes (for
// the race detector; about 2.5 s).
func TestConcurrentUse(t *testing.T) {
	if testing.Short() {
		t.Skip("2.5 s")
	}
	s, err := Open(t.TempDir(), defRet, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error)
	go func() { runDone <- s.Run(ctx) }()
	stop := time.Now().Add(2500 * time.Millisecond)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			host := fmt.Sprintf("h%d", g)
			for i := 0; time.Now().Before(stop); i++ {
				now := time.Now()
				s.Add(host, sampleAt(now))
				s.AddEvent(Event{T: now, Host: host, Kind: EventOnline})
				s.SaveLatest(host, Latest{Body: []byte("{}"), LastSeen: now})
				if _, err := s.Query(ctx, host, now.Add(-time.Hour), now, 0); err != nil && ctx.Err() == nil {
					t.Error(err)
				}
				_, _ = s.Events(ctx, "", now.Add(-time.Hour), now, 10)
				_ = s.Recent(host, 10)
				_ = s.Stats()
				if i%50 == 0 {
					s.Forget(host)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	cancel()
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func hourRow(t *testing.T, s *Store, host string, at time.Time) agg {
	t.Helper()
	var g agg
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bTiers[tHour]).Bucket([]byte(host)).Get(timeKey(hourOf(at.Unix())))
		var err error
		g, err = decodeAgg(v, s.mountName)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}
