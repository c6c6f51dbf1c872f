package hub

import "sync"

// Sub is one dashboard's stream of updates (encoded HostEntry objects with
// "point", or RemovedEntry when the fleet forgets a host). While the
// dashboard keeps up it receives every update, in order. Once more than
// mergeAfter updates wait, further updates replace the waiting one of the
// same host: a dashboard that falls behind gets each host's newest state
// (skipping intermediate history points) and costs at most one waiting
// update per host, and the hub never waits for it. A subscriber whose
// waiting updates exceed maxBytes is dropped.
type Sub struct {
	mergeAfter, maxBytes int

	mu      sync.Mutex
	queue   []Update
	index   map[string]int // host → its position in queue, once merging
	bytes   int
	merged  uint64
	ready   chan struct{}
	dropped chan struct{}
	closed  bool
}

// Update is one host's encoded entry, shared by every subscriber.
type Update struct {
	Host string
	*Encoded
}

// Encoded is an encoded entry, in parts that are written one after the
// other: the head (or the whole RemovedEntry), the snapshot as the fleet
// keeps it (shared), and the point that ends the object. Never modified.
type Encoded struct {
	Head, Snap, Tail []byte
}

func (u *Encoded) size() int { return len(u.Head) + len(u.Snap) + len(u.Tail) }

func newSub(mergeAfter, maxBytes int) *Sub {
	return &Sub{mergeAfter: max(mergeAfter, 1), maxBytes: maxBytes,
		ready: make(chan struct{}, 1), dropped: make(chan struct{})}
}

// Ready receives a value when updates wait to be taken.
func (s *Sub) Ready() <-chan struct{} { return s.ready }

// Dropped is closed when the subscriber fell too far behind or unsubscribed.
func (s *Sub) Dropped() <-chan struct{} { return s.dropped }

// Take returns the waiting updates, oldest first, reusing buf.
func (s *Sub) Take(buf []Update) []Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf = append(buf[:0], s.queue...)
	clear(s.queue)
	s.queue = s.queue[:0]
	s.index = nil
	s.bytes = 0
	return buf
}

// Merged counts updates replaced by a newer one of the same host.
func (s *Sub) Merged() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.merged
}

func (s *Sub) send(u Update) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= s.mergeAfter {
		if s.index == nil {
			s.index = make(map[string]int, len(s.queue))
			for i, u := range s.queue {
				s.index[u.Host] = i // the last one of each host
			}
		}
		if i, ok := s.index[u.Host]; ok {
			s.bytes += u.size() - s.queue[i].size()
			s.queue[i] = u
			s.merged++
			s.mu.Unlock()
			return
		}
		s.index[u.Host] = len(s.queue)
	}
	s.queue = append(s.queue, u)
	s.bytes += u.size()
	if s.bytes > s.maxBytes {
		s.closeLocked()
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

func (s *Sub) close() {
	s.mu.Lock()
	s.closeLocked()
	s.mu.Unlock()
}

func (s *Sub) closeLocked() {
	if !s.closed {
		s.closed = true
		close(s.dropped)
	}
}
