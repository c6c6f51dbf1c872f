package consumer

import (
	"slices"
	"sync"
	"time"
)

// lag keeps the delays from sampling to receipt of the latest snapshots:
// when the consumer is behind (a queue backlog), dashboards say "updates
// delayed by 12 s" instead of letting the fleet look stale.
type lag struct {
	mu   sync.Mutex
	ring [64]time.Duration
	n    int       // delays written, ever
	at   time.Time // receipt of the latest
}

func (l *lag) add(d time.Duration, now time.Time) {
	l.mu.Lock()
	l.ring[l.n%len(l.ring)] = d
	l.n++
	l.at = now
	l.mu.Unlock()
}

// median is the median of the delays kept: one publisher whose clock is off
// moves it little. Zero when nothing arrived for a minute (there is no
// backlog to speak of, and silent hosts turn stale on their own).
func (l *lag) median(now time.Time) time.Duration {
	l.mu.Lock()
	n := min(l.n, len(l.ring))
	if n == 0 || now.Sub(l.at) > time.Minute {
		l.mu.Unlock()
		return 0
	}
	ds := slices.Clone(l.ring[:n])
	l.mu.Unlock()
	slices.Sort(ds)
	return max(ds[n/2], 0)
}

// Delay is how far behind the consumer is: the median delay of the latest
// snapshots from their sampling to their receipt here.
func (in *Ingest) Delay() time.Duration { return in.lag.median(time.Now()) }
