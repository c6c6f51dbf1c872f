package consumer

import (
	"testing"
	"time"
)

func TestLagMedian(t *testing.T) {
	now := time.Now()
	var l lag
	if d := l.median(now); d != 0 {
		t.Fatalf("no delays: %v, want 0", d)
	}
	for range 40 {
		l.add(12*time.Second, now)
	}
	// A few publishers with clocks far off do not move the median.
	for range 10 {
		l.add(time.Hour, now)
		l.add(-time.Hour, now)
	}
	if d := l.median(now); d != 12*time.Second {
		t.Errorf("median %v, want 12s", d)
	}
	// The ring keeps the latest 64: a backlog that cleared is forgotten.
	for range 64 {
		l.add(100*time.Millisecond, now)
	}
	if d := l.median(now); d != 100*time.Millisecond {
		t.Errorf("median after the backlog cleared %v, want 100ms", d)
	}
	if d := l.median(now.Add(2 * time.Minute)); d != 0 {
		t.Errorf("median with nothing received for 2 min %v, want 0", d)
	}
}
