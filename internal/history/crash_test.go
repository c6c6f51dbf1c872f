package history

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The crash test: a writer in a child process (this test binary, re-run)
// steps the store as Run does, one simulated second per step as fast as it
// can, and prints each step once it is through; the parent SIGKILLs it at a
// random moment, reopens the store and checks that every sample of every
// step that was through is there exactly once (raw rows and aggregates) and
// that the database is sound. The child goes as fast as it can so that
// kills land in every phase: log appends, seals (once per 60 steps),
// retention. In the daemon a step runs once a second, so what can be lost
// is what was added in the last second.

const (
	crashDirEnv   = "HISTORY_CRASH_DIR"
	crashStartEnv = "HISTORY_CRASH_START"
	crashHosts    = 20
)

func crashNow(step int) time.Time { return t0.Add(time.Duration(step) * time.Second) }

// TestCrashChild is the writer; it does nothing unless run by TestCrash.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child of TestCrash")
	}
	start, _ := strconv.Atoi(os.Getenv(crashStartEnv))
	c := &clock{t: crashNow(start)}
	s, err := open(dir, defRet, quietLog(), c.now)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	// A seal in several transactions (2 or 3 hosts each), so that kills
	// land between them too.
	s.sealBatch = 48 << 10
	// Run's own loop, with ticks as fast as it takes them: seals run in
	// their goroutine while the steps go on.
	ticks := make(chan time.Time)
	stepped := make(chan struct{})
	go s.loop(context.Background(), ticks, nil, func() { stepped <- struct{}{} })
	for i := start; ; i++ {
		now := crashNow(i)
		c.set(now)
		for h := range crashHosts {
			s.Add(fmt.Sprintf("h%02d", h), sampleAt(now))
		}
		if i%10 == 0 && i >= 600 { // a late sample, into a minute sealed 9 minutes ago
			s.Add("late", sampleAt(crashNow(i-600)))
		}
		ticks <- now
		<-stepped
		fmt.Println(i) // stdout is unbuffered: the parent sees it at once
	}
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process 10 times (about 10 s)")
	}
	dir := t.TempDir()
	next := 0
	for round := range 10 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashStartEnv+"="+strconv.Itoa(next))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		last := -1
		lines := make(chan int)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if n, err := strconv.Atoi(sc.Text()); err == nil {
					lines <- n
				} else {
					t.Errorf("child: %s", sc.Text())
				}
			}
		}()
		// Kill at a random moment once the child has written a little.
		first, ok := <-lines
		if !ok {
			cmd.Wait()
			t.Fatalf("round %d: the child wrote nothing", round)
		}
		last = first
		time.Sleep(time.Duration(50+rand.IntN(700)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for n := range lines {
			last = n
		}
		cmd.Wait()
		t.Logf("round %d: killed after step %d (%d steps this round)", round, last, last-next+1)

		checkCrashStore(t, dir, last)
		next = last + 1
	}
}

// checkCrashStore reopens the store as the next run will and checks that
// steps 0..last are all there, once.
func checkCrashStore(t *testing.T, dir string, last int) {
	t.Helper()
	now := crashNow(last + 1)
	c := &clock{t: now}
	s, err := open(dir, defRet, quietLog(), c.now)
	if err != nil {
		t.Fatalf("reopen after a kill: %v", err)
	}
	defer s.Close()
	err = s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("database check after a kill: %v", err)
	}
	for h := range crashHosts {
		host := fmt.Sprintf("h%02d", h)
		// At most an hour in raw: the steps of the last hour.
		from := max(0, last-3000)
		got := rawTimes(t, s, host, crashNow(from), crashNow(last))
		if len(got) != last-from+1 {
			t.Fatalf("%s: %d raw samples of steps %d..%d, want %d", host, len(got), from, last, last-from+1)
		}
	}
	// Late samples of the steps lo..last, filed 600 s before them (the
	// next step's, if through, falls after this window).
	if lo := max(600, last-2400); last >= lo {
		want := last/10 - (lo+9)/10 + 1
		// Up to half a second after the last step's: a range, even when
		// the kill came right after step 600 (one step, from = to).
		if got := rawTimes(t, s, "late", crashNow(lo-600), crashNow(last-600).Add(time.Second/2)); len(got) != want {
			t.Fatalf("late: %d raw samples for steps %d..%d, want %d", len(got), lo, last, want)
		}
	}
	// Aggregates: every sealed minute of h00 folds exactly 60 samples, and
	// its hour the sum of its minutes, whatever replays happened.
	err = s.db.View(func(tx *bolt.Tx) error {
		mins := tx.Bucket(bTiers[tMin]).Bucket([]byte("h00"))
		hours := tx.Bucket(bTiers[tHour]).Bucket([]byte("h00"))
		if mins == nil {
			return nil
		}
		perHour := map[int64]uint32{}
		err := mins.ForEach(func(k, v []byte) error {
			g, err := decodeAgg(v, s.mountName)
			if err != nil {
				return err
			}
			if g.N != 60 {
				return fmt.Errorf("minute %d folds %d samples, want 60", keyTime(k), g.N)
			}
			perHour[hourOf(keyTime(k))] += g.N
			return nil
		})
		if err != nil {
			return err
		}
		for hr, n := range perHour {
			g, err := decodeAgg(hours.Get(timeKey(hr)), s.mountName)
			if err != nil || g.N != n {
				return fmt.Errorf("hour %d folds %d samples, its minutes %d (%v)", hr, g.N, n, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func rawTimes(t *testing.T, s *Store, host string, from, to time.Time) []int64 {
	t.Helper()
	se, err := s.Query(context.Background(), host, from, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	if se.Tier != TierRaw {
		t.Fatalf("%s: tier %s", host, se.Tier)
	}
	if se.StepSeconds != 0 {
		// More than MaxPoints: count through Recent instead.
		var n []int64
		for _, x := range s.Recent(host, 1<<20) {
			if !x.T.Before(from) && !x.T.After(to) {
				n = append(n, x.T.UnixMilli())
			}
		}
		return n
	}
	var n []int64
	for i, ms := range se.T {
		if cpu := se.Figures["cpu"]; cpu != nil && cpu.Mean[i] == cpu.Mean[i] {
			n = append(n, ms)
		}
	}
	return n
}
