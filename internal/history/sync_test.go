package history

import (
	"context"
	"testing"
	"time"
)

// TestSecondTickSyncsTheQuarterSecondWrites: the 250 ms tick writes the
// log without a sync; the second's tick must sync it even when that tick
// finds nothing left to write (both fire at the same instant, in either
// order), and so must the end of Run.
func TestSecondTickSyncsTheQuarterSecondWrites(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	c := &clock{t: now}
	s, err := open(t.TempDir(), defRet, quietLog(), c.now)
	if err != nil {
		t.Fatal(err)
	}
	ticks, fast := make(chan time.Time), make(chan time.Time)
	stepped := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.loop(ctx, ticks, fast, func() { stepped <- struct{}{} }) }()

	s.Add("h1", sampleAt(now))
	fast <- now
	<-stepped
	if !s.wal.dirty {
		t.Fatal("the quarter-second write left nothing unsynced: it did not write the sample")
	}
	ticks <- now // nothing buffered any more
	<-stepped
	if s.wal.dirty {
		t.Error("the second's tick found nothing to write and left the quarter-second write unsynced")
	}

	s.Add("h1", sampleAt(now.Add(time.Second)))
	fast <- now.Add(time.Second)
	<-stepped
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.wal.dirty {
		t.Error("Run ended with the last quarter-second write unsynced")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
