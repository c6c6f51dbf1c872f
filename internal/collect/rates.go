package collect

import (
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
)

// counterWindow keeps recent readings of monotonically growing counters, so
// that a rate is always computed over at least minWindow when history allows:
// a /publish right after a periodic sample still gets a meaningful figure
// instead of the noise of a 10 ms delta.
type counterWindow[T any] struct {
	minWindow time.Duration
	readings  []reading[T]
}

type reading[T any] struct {
	at time.Time
	v  T
}

// add records v read at t and returns the baseline to compare it with (ok is
// false for the very first reading).
func (w *counterWindow[T]) add(t time.Time, v T) (base reading[T], ok bool) {
	// The baseline is the newest reading at least minWindow old, else the oldest.
	idx := -1
	for i := len(w.readings) - 1; i >= 0; i-- {
		if t.Sub(w.readings[i].at) >= w.minWindow {
			idx = i
			break
		}
	}
	if idx < 0 && len(w.readings) > 0 {
		idx = 0
	}
	if idx >= 0 {
		base, ok = w.readings[idx], true
		// Readings older than the baseline can never be chosen again.
		w.readings = append(w.readings[:0], w.readings[idx:]...)
	}
	const keep = 16
	if len(w.readings) >= keep {
		w.readings = append(w.readings[:0], w.readings[1:]...)
	}
	w.readings = append(w.readings, reading[T]{at: t, v: v})
	return base, ok
}

// busyPercent is the share of non-idle CPU time between two readings of the
// same CPU, 0–100, as top(1) computes it. Guest time is already counted in
// user and nice on Linux. Counter resets (hotplug) give 0, not nonsense.
func busyPercent(prev, cur cpu.TimesStat) float64 {
	total := func(t cpu.TimesStat) float64 {
		return t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	}
	idle := func(t cpu.TimesStat) float64 { return t.Idle + t.Iowait }
	dt := total(cur) - total(prev)
	di := idle(cur) - idle(prev)
	if dt <= 0 || di < 0 || di > dt {
		return 0
	}
	return round2((dt - di) / dt * 100)
}

// rate is the per-second change of a counter, 0 on reset or no time elapsed.
func rate(prev, cur uint64, elapsed time.Duration) float64 {
	if cur < prev || elapsed <= 0 {
		return 0
	}
	return round2(float64(cur-prev) / elapsed.Seconds())
}

func round2(f float64) float64 {
	return float64(int64(f*100+0.5)) / 100
}
