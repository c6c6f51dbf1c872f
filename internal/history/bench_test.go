package history

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Figures for README "History"; run with
//
//	go test -run '^$' -bench . -benchtime 120x ./internal/history
//
// (the lead's make bench compares ingest with history on and off).

// benchSample is a sample of the size the issue names: 10 scalars, 8
// cores, 3 file systems.
func benchSample(t time.Time, i int) Sample {
	v := float32(i%100) + float32(t.Unix()%7) + float32(t.Unix()%3)/10
	return Sample{
		T: t, CPU: v, Mem: 40 + v/10, Swap: 1, Load1: v / 50, Load5: v / 60, Load15: v / 70,
		Rx: 1e5 + v*1000, Tx: 5e4 + v*100, Rd: 2e4 + v, Wr: 8e4 + v,
		Cores: []float32{v, v + 1, v + 2, v + 3, v / 2, v / 3, v / 4, v / 5},
		FS:    []FSUse{{"/", 41.5}, {"/var", 60 + v/100}, {"/home", 12}},
	}
}

// BenchmarkWrite is the cost of history per sample on the ingest side: Add
// for every host, then a tick of Run's own loop (log append and fsync; once
// a minute the seal, in its goroutine), at 1 Hz of simulated time, as fast
// as it goes. One iteration is one second of the fleet: run it for 130x at
// least, so that it includes seals. It prints the CPU time per sample (the
// process's, GC included), what that is of one core at 1 Hz, and the
// longest tick (how long Run took for one second's work: a seal does not
// hold it).
func BenchmarkWrite(b *testing.B) {
	for _, hosts := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) {
			names := make([]string, hosts)
			for i := range names {
				names[i] = fmt.Sprintf("host-%05d", i)
			}
			c := &clock{t: time.Now().Truncate(time.Minute)}
			s := openAt(b, b.TempDir(), c)
			defer s.Close()
			ctx, cancel := context.WithCancel(context.Background())
			ticks := make(chan time.Time)
			stepped := make(chan struct{})
			loopDone := make(chan error)
			go func() { loopDone <- s.loop(ctx, ticks, nil, func() { stepped <- struct{}{} }) }()
			var worst time.Duration
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				now := c.now().Add(time.Second)
				c.set(now)
				for j, h := range names {
					s.Add(h, benchSample(now, j))
				}
				t := time.Now()
				ticks <- now
				<-stepped
				worst = max(worst, time.Since(t))
			}
			cancel()
			<-loopDone // waits for a seal under way
			b.StopTimer()
			cpu := cpuTime() - cpu0
			st := s.Stats()
			if st.Dropped != 0 || st.WriteErrors != 0 {
				b.Fatalf("dropped %d, write errors %d", st.Dropped, st.WriteErrors)
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*hosts), "cpu-ns/sample")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e9*100, "%core-at-1Hz")
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-tick-ms")
			// The head (a minute of samples or so) is most of the heap.
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fillHost writes a simulated span of one host's history at default
// retention through the store, samples with past timestamps, as a late
// outbox would deliver them. To keep it quick, the samples are sparser
// where only aggregates are kept, yet several per bucket so that the
// figures move within each (a bucket where a figure did not move is
// smaller): one a minute before the last week (60 per hour row), one every
// 10 s in the last week (6 per minute row), one a second in the last hour
// (raw rows).
func fillHost(tb testing.TB, s *Store, c *clock, host string, span time.Duration) {
	now := c.now()
	n := 0
	add := func(t time.Time) {
		s.Add(host, benchSample(t, n))
		if n++; n%20000 == 0 {
			s.step(now)
		}
	}
	week := now.Add(-7 * 24 * time.Hour)
	t := now.Add(-span + time.Minute)
	for ; t.Before(week); t = t.Add(time.Minute) {
		add(t)
	}
	for ; t.Before(now.Add(-time.Hour)); t = t.Add(10 * time.Second) {
		add(t)
	}
	for ; t.Before(now); t = t.Add(time.Second) {
		add(t)
	}
	s.step(now)
}

// BenchmarkDiskPerHost prints the bytes on disk per host at the default
// retention after a simulated week and a simulated year.
func BenchmarkDiskPerHost(b *testing.B) {
	for _, span := range []struct {
		name string
		d    time.Duration
	}{{"week", 7 * 24 * time.Hour}, {"year", 365 * 24 * time.Hour}} {
		b.Run(span.name, func(b *testing.B) {
			const hosts = 4
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				c := &clock{t: time.Now().Truncate(time.Second)}
				s := openAt(b, dir, c)
				for h := range hosts {
					fillHost(b, s, c, fmt.Sprintf("host-%02d", h), span.d)
				}
				// Seal everything (a restart would replay it instead).
				s.seal(c.now(), true)
				st := s.Stats()
				var live int64
				_ = s.db.View(func(tx *bolt.Tx) error {
					live = tx.Size() - int64(s.db.Stats().FreePageN+s.db.Stats().PendingPageN)*int64(s.db.Info().PageSize)
					return nil
				})
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(st.Bytes)/hosts/(1<<20), "MiB/host")
				b.ReportMetric(float64(live)/hosts/(1<<20), "live-MiB/host")
				b.ReportMetric(float64(st.Rows[TierMinute])/hosts, "minute-rows/host")
				b.ReportMetric(float64(st.Rows[TierHour])/hosts, "hour-rows/host")
			}
		})
	}
}

// BenchmarkQuery answers a 1-hour, a 7-day and a 1-year chart of one host
// of a store that holds a year of it.
func BenchmarkQuery(b *testing.B) {
	c := &clock{t: time.Now().Truncate(time.Second)}
	s := openAt(b, b.TempDir(), c)
	defer s.Close()
	fillHost(b, s, c, "db-01", 365*24*time.Hour)
	fillHost(b, s, c, "db-02", 7*24*time.Hour)
	s.seal(c.now(), true)
	for _, r := range []struct {
		name string
		d    time.Duration
		tier string
	}{{"1h", time.Hour, TierRaw}, {"7d", 7 * 24 * time.Hour, TierMinute}, {"1y", 365 * 24 * time.Hour, TierHour}} {
		b.Run(r.name, func(b *testing.B) {
			now := c.now()
			for i := 0; i < b.N; i++ {
				se, err := s.Query(context.Background(), "db-01", now.Add(-r.d), now, 0)
				if err != nil {
					b.Fatal(err)
				}
				if se.Tier != r.tier || len(se.T) > MaxPoints+MaxPoints/10 || len(se.T) < 100 {
					b.Fatalf("%s: tier %s with %d points", r.name, se.Tier, len(se.T))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/query")
		})
	}
}

// BenchmarkRetention times Run's retention steps when 10,000 hosts each
// have raw rows past their hour: every step must be short (it holds Run).
func BenchmarkRetention(b *testing.B) {
	const hosts = 10000
	for i := 0; i < b.N; i++ {
		c := &clock{t: time.Now().Truncate(time.Minute)}
		s := openAt(b, b.TempDir(), c)
		for m := range 3 {
			now := c.now().Add(time.Duration(m) * time.Minute)
			for h := range hosts {
				for sec := 0; sec < 60; sec += 15 { // 40,000 a step: within maxPending
					s.Add(fmt.Sprintf("host-%05d", h), benchSample(now.Add(time.Duration(sec)*time.Second), h))
				}
			}
			s.step(now.Add(time.Minute + 3*time.Second))
		}
		later := c.now().Add(2 * time.Hour)
		rows := s.Stats().Rows[TierRaw]
		b.ResetTimer()
		var worst, total time.Duration
		steps := 0
		for s.Stats().Rows[TierRaw] > 0 && steps < 10000 {
			t := time.Now()
			s.retain(later)
			d := time.Since(t)
			worst, total = max(worst, d), total+d
			steps++
		}
		b.StopTimer()
		if st := s.Stats(); st.Dropped != 0 || rows != 3*hosts {
			b.Fatalf("%d raw rows, %d samples dropped", rows, st.Dropped)
		}
		b.ReportMetric(float64(rows), "rows-deleted")
		b.ReportMetric(float64(steps), "steps")
		b.ReportMetric(float64(worst.Microseconds())/1000, "worst-step-ms")
		b.ReportMetric(float64(total.Microseconds())/float64(steps)/1000, "mean-step-ms")
		s.Close()
	}
}

// BenchmarkOpen is a restart at 10,000 hosts at its worst: just before a
// seal, with a minute of samples to replay from the write-ahead log.
func BenchmarkOpen(b *testing.B) {
	const hosts = 10000
	dir := b.TempDir()
	c := &clock{t: time.Now().Truncate(time.Minute)}
	s := openAt(b, dir, c)
	for sec := range 60 {
		now := c.now().Add(time.Duration(sec) * time.Second)
		for h := range hosts {
			s.Add(fmt.Sprintf("host-%05d", h), benchSample(now, h))
		}
		s.flush(now, true)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := openAt(b, dir, c)
		b.StopTimer()
		if r := s.Recent("host-00000", 100); len(r) != 60 {
			b.Fatalf("replayed %d samples of host-00000, want 60", len(r))
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/open")
}

// BenchmarkSeal is the memory a minute's seal takes: 2,000 hosts of
// benchSample at 1 Hz, sealed once a minute; one iteration is one seal
// (after a first one that creates the hosts' buckets). It reports the
// bytes allocated during the transaction per host, with the collector
// off: what is held at once when nothing allocated in it is let go before
// the commit (-memprofile shows by whom).
func BenchmarkSeal(b *testing.B) {
	const hosts = 2000
	names := make([]string, hosts)
	for i := range names {
		names[i] = fmt.Sprintf("host-%05d", i)
	}
	c := &clock{t: time.Now().Add(-time.Hour).Truncate(time.Hour)}
	s := openAt(b, b.TempDir(), c)
	defer s.Close()
	minute := func() *sealJob {
		for range 60 {
			now := c.now().Add(time.Second)
			c.set(now)
			for j, h := range names {
				s.Add(h, benchSample(now, j))
			}
			s.flush(now, true)
		}
		return s.prepareSeal(c.now().Add(sealGrace+time.Second), false)
	}
	s.finishSeal(minute(), nil)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var alloc uint64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		j := minute()
		if j == nil {
			b.Fatal("nothing to seal")
		}
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		b.StartTimer()
		err := s.commitSeal(j)
		b.StopTimer()
		runtime.ReadMemStats(&m1)
		alloc += m1.TotalAlloc - m0.TotalAlloc
		s.finishSeal(j, err)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(alloc)/float64(b.N*hosts), "B/host")
}
