package fleet

import (
	"io"
	"sync"
	"time"
)

// Sub is one dashboard's stream of updates (encoded HostEntry objects with
// "point", or {"host":…,"removed":true} when the fleet forgets a host).
// While the dashboard keeps up it receives every update, in order. Once more than MergeAfter updates wait, further updates replace the
// waiting one of the same host: a dashboard that falls behind gets each
// host's newest state (skipping intermediate history points) and costs at
// most one waiting update per host, and the fleet never waits for it. A
// subscriber whose waiting updates exceed MaxBytes is dropped.
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

// Update is one host's encoded HostEntry.
type Update struct {
	Host string
	JSON []byte
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

func (s *Sub) send(host string, msg []byte) {
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
		if i, ok := s.index[host]; ok {
			s.bytes += len(msg) - len(s.queue[i].JSON)
			s.queue[i].JSON = msg
			s.merged++
			s.mu.Unlock()
			return
		}
		s.index[host] = len(s.queue)
	}
	s.queue = append(s.queue, Update{Host: host, JSON: msg})
	s.bytes += len(msg)
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

func (s *Sub) closeLocked() {
	if !s.closed {
		s.closed = true
		close(s.dropped)
	}
}

// State is the fleet as it was when a subscription started: each host's
// latest entry with its status then. It is written outside the fleet's lock.
type State struct {
	entries []stateEntry
}

type stateEntry struct {
	entry               []byte
	statusAt, statusEnd int
	status              string
}

// Hosts is the number of hosts in the state.
func (st *State) Hosts() int { return len(st.entries) }

// WriteTo writes the state as a JSON array of HostEntry objects, each with
// the host's latest "point" (the whole history is GET /api/hosts/{host}).
func (st *State) WriteTo(w io.Writer) (int64, error) {
	var n int64
	write := func(b []byte) error {
		k, err := w.Write(b)
		n += int64(k)
		return err
	}
	sep := []byte{'['}
	for _, e := range st.entries {
		for _, part := range [][]byte{sep, e.entry[:e.statusAt], []byte(e.status), e.entry[e.statusEnd:]} {
			if err := write(part); err != nil {
				return n, err
			}
		}
		sep = []byte{','}
	}
	if len(st.entries) == 0 {
		if err := write(sep); err != nil {
			return n, err
		}
	}
	return n, write([]byte{']'})
}

// Subscribe returns the current state and a subscription to every later
// update: nothing is missed and nothing is sent twice between the two. The
// lock is held only to copy one slice header per host.
func (f *Fleet) Subscribe(mergeAfter, maxBytes int, now time.Time) (*State, *Sub) {
	sub := &Sub{mergeAfter: max(mergeAfter, 1), maxBytes: maxBytes,
		ready: make(chan struct{}, 1), dropped: make(chan struct{})}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweepLocked(now)
	st := &State{entries: make([]stateEntry, 0, len(f.hosts))}
	for _, h := range f.hosts {
		if h.entry != nil {
			st.entries = append(st.entries, stateEntry{entry: h.entry, statusAt: h.statusAt,
				statusEnd: h.statusEnd, status: h.status(f.cfg, now)})
		}
	}
	f.subs[sub] = struct{}{}
	return st, sub
}

// Unsubscribe ends a subscription.
func (f *Fleet) Unsubscribe(sub *Sub) {
	f.mu.Lock()
	delete(f.subs, sub)
	f.mu.Unlock()
	sub.mu.Lock()
	sub.closeLocked()
	sub.mu.Unlock()
}
