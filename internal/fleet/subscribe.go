package fleet

import (
	"sync"
	"time"
)

// Sub receives every update accepted after it subscribed, as encoded
// HostEntry objects. A subscriber that falls Buffer updates behind is cut
// off (Dropped closes): a slow dashboard never holds up the fleet.
type Sub struct {
	c       chan []byte
	dropped chan struct{}
	once    sync.Once
}

// C delivers encoded HostEntry objects (with "point").
func (s *Sub) C() <-chan []byte { return s.c }

// Dropped is closed when the subscriber fell too far behind or unsubscribed.
func (s *Sub) Dropped() <-chan struct{} { return s.dropped }

func (s *Sub) send(msg []byte) {
	select {
	case s.c <- msg:
	default:
		s.once.Do(func() { close(s.dropped) })
	}
}

// Subscribe returns the current state (a JSON array of HostEntry with
// history, within the state budget) and a subscription to every later
// update: nothing is missed and nothing is sent twice between the two.
func (f *Fleet) Subscribe(buffer int, now time.Time) (state []byte, sub *Sub) {
	sub = &Sub{c: make(chan []byte, buffer), dropped: make(chan struct{})}
	f.mu.Lock()
	defer f.mu.Unlock()
	histN := f.cfg.HistorySize
	if n := len(f.hosts); n > 0 {
		histN = min(histN, f.cfg.StateBudget/n)
	}
	state = f.appendHostsLocked(make([]byte, 0, 4096), now, histN)
	f.subs[sub] = struct{}{}
	return state, sub
}

// Unsubscribe ends a subscription.
func (f *Fleet) Unsubscribe(sub *Sub) {
	f.mu.Lock()
	delete(f.subs, sub)
	f.mu.Unlock()
	sub.once.Do(func() { close(sub.dropped) })
}
