package hub

import (
	"io"
	"sync"

	"github.com/gorilla/websocket"
)

// Sub is one dashboard's stream of updates (encoded HostEntry objects, or
// RemovedEntry when the fleet forgets a host), in batches: one
// per tick, holding the newest entry of each host that changed, encoded
// once and shared by every subscriber. Entries are lean unless the
// subscriber asked for complete ones; the host it watches comes complete
// on the side ("watched"). While the dashboard keeps up it receives every
// batch, in order. Once more than one batch and more than mergeAfter
// updates wait, further updates replace the waiting one of the same host:
// a dashboard that falls behind gets each host's newest state (skipping
// intermediate history points) and costs at most one waiting update per
// host, and the hub never waits for it. A subscriber whose waiting updates
// exceed maxBytes is dropped.
type Sub struct {
	mergeAfter, maxBytes int
	complete             bool // every entry complete, as GET /ws?complete=1 asks

	mu      sync.Mutex
	batches []*batch // waiting, oldest first, until merging starts
	n       int      // updates in batches
	queue   []Update // once merging: one per host, in first-seen order
	index   map[string]int
	bytes   int
	merged  uint64
	watch   string   // the host whose complete entry it gets, or ""
	watched *Encoded // that entry, when it changed since the last frame
	ready   chan struct{}
	dropped chan struct{}
	closed  bool
}

// Update is one host's change, encoded once and shared by every
// subscriber: lean (without the snapshot, the figures' lists and the
// points, as most dashboards get it) and complete. Full is whole only
// when a subscriber reads it (one wants complete entries, or watches the
// host); else it lacks the snapshot, which the fleet keeps packed, and the
// merged points.
//
// Delta is the lean entry without the host's facts (FactKeys), when they
// are the same as in its previous update: what a tick's shared frame
// carries. A subscriber that fell behind and gets one update per host
// (merged) gets Lean, whole, since it may have missed the previous one.
type Update struct {
	Host              string
	Removed           bool
	Lean, Full, Delta *Encoded
}

func (u *Update) enc(complete bool) *Encoded {
	if complete {
		return u.Full
	}
	return u.Lean
}

// Encoded is an encoded entry, in parts that are written one after the
// other (the whole RemovedEntry is Head): for a complete entry the head,
// the snapshot (unpacked from the fleet's once, shared) and the points
// that end the object; for a lean one the head up to the figures' lists,
// then "}}".
// Never modified.
type Encoded struct {
	Head, Mid, Tail []byte
}

func (u *Encoded) size() int { return len(u.Head) + len(u.Mid) + len(u.Tail) }

func (u *Encoded) writeTo(w io.Writer) error {
	for _, part := range [...][]byte{u.Head, u.Mid, u.Tail} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// batch is what one flush sends: its updates, the update frame that holds
// them lean and (when a subscriber wants it) complete, and where each host
// is (when a subscriber watches one). Never modified, but for the frames'
// wire forms (prepared), made once for every dashboard that takes them.
type batch struct {
	updates    []Update
	lean, full []byte
	index      map[string]int
	prep       [2]struct {
		once sync.Once
		pm   *websocket.PreparedMessage
		err  error
	}
}

// prepared is the frame as a WebSocket message that every connection can
// write: gorilla compresses it once per set of connection options (with
// permessage-deflate, once for all the browsers that negotiated it), not
// once per dashboard.
func (b *batch) prepared(complete bool) (*websocket.PreparedMessage, error) {
	k := 0
	if complete {
		k = 1
	}
	p := &b.prep[k]
	p.once.Do(func() { p.pm, p.err = websocket.NewPreparedMessage(websocket.TextMessage, b.frame(complete)) })
	return p.pm, p.err
}

func (b *batch) frame(complete bool) []byte {
	if complete {
		return b.full
	}
	return b.lean
}

const (
	updatePrefix = `{"type":"update","hosts":[`
	updateSuffix = `]}`
)

// Pending is what a subscriber takes: waiting batches, or (once it fell
// behind) updates merged per host, and its watched host's entry.
type Pending struct {
	batches  []*batch
	updates  []Update
	watched  *Encoded
	complete bool
}

// Len is the number of updates in p.
func (p *Pending) Len() int {
	n := len(p.updates)
	for _, b := range p.batches {
		n += len(b.updates)
	}
	return n
}

// single is the batch p holds when it is one batch's frame as encoded
// (shared by every dashboard that keeps up), or nil.
func (p *Pending) single() *batch {
	if len(p.batches) == 1 && len(p.updates) == 0 && p.watched == nil {
		return p.batches[0]
	}
	return nil
}

// Prepared returns p's UpdateFrame as a prepared WebSocket message when it
// is a single batch's, or nil (WriteFrame writes it).
func (p *Pending) Prepared() (*websocket.PreparedMessage, error) {
	if b := p.single(); b != nil {
		return b.prepared(p.complete)
	}
	return nil, nil
}

// WriteFrame writes p as one UpdateFrame: a single batch as it was
// encoded, several joined, merged updates one by one, then the watched
// host's complete entry.
func (p *Pending) WriteFrame(w io.Writer) error {
	if b := p.single(); b != nil {
		_, err := w.Write(b.frame(p.complete))
		return err
	}
	if _, err := io.WriteString(w, updatePrefix); err != nil {
		return err
	}
	sep := false
	for _, b := range p.batches {
		f := b.frame(p.complete)
		if sep {
			if _, err := w.Write([]byte{','}); err != nil {
				return err
			}
		}
		if _, err := w.Write(f[len(updatePrefix) : len(f)-len(updateSuffix)]); err != nil {
			return err
		}
		sep = true
	}
	for i := range p.updates {
		if sep {
			if _, err := w.Write([]byte{','}); err != nil {
				return err
			}
		}
		if err := p.updates[i].enc(p.complete).writeTo(w); err != nil {
			return err
		}
		sep = true
	}
	if p.watched != nil {
		if _, err := io.WriteString(w, `],"watched":`); err != nil {
			return err
		}
		if err := p.watched.writeTo(w); err != nil {
			return err
		}
		_, err := io.WriteString(w, "}")
		return err
	}
	_, err := io.WriteString(w, updateSuffix)
	return err
}

func (p *Pending) reset() {
	clear(p.batches)
	p.batches = p.batches[:0]
	clear(p.updates)
	p.updates = p.updates[:0]
	p.watched = nil
}

func newSub(mergeAfter, maxBytes int, complete bool) *Sub {
	return &Sub{mergeAfter: max(mergeAfter, 1), maxBytes: maxBytes, complete: complete,
		ready: make(chan struct{}, 1), dropped: make(chan struct{})}
}

// Ready receives a value when updates wait to be taken.
func (s *Sub) Ready() <-chan struct{} { return s.ready }

// Dropped is closed when the subscriber fell too far behind or unsubscribed.
func (s *Sub) Dropped() <-chan struct{} { return s.dropped }

// Take moves what waits into p (whose former content the caller no longer
// needs), oldest first.
func (s *Sub) Take(p *Pending) {
	p.reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	p.batches, s.batches = s.batches, p.batches
	p.updates, s.queue = s.queue, p.updates
	p.watched, s.watched = s.watched, nil
	p.complete = s.complete
	s.n, s.index, s.bytes = 0, nil, 0
}

// Merged counts updates replaced by a newer one of the same host.
func (s *Sub) Merged() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.merged
}

func (s *Sub) send(b *batch) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if s.watch != "" && b.index != nil {
		if i, ok := b.index[s.watch]; ok && !b.updates[i].Removed {
			s.watched = b.updates[i].Full
		}
	}
	if s.index == nil && (len(s.batches) == 0 || s.n+len(b.updates) <= s.mergeAfter) {
		s.batches = append(s.batches, b)
		s.n += len(b.updates)
		s.bytes += len(b.frame(s.complete))
	} else {
		if s.index == nil {
			// Fallen behind: from now on one update per host.
			s.index = make(map[string]int, s.n+len(b.updates))
			s.bytes = 0
			for i, w := range s.batches {
				s.mergeLocked(w.updates)
				s.batches[i] = nil
			}
			s.batches, s.n = s.batches[:0], 0
		}
		s.mergeLocked(b.updates)
	}
	if s.bytes > s.maxBytes {
		s.closeLocked()
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.signal()
}

func (s *Sub) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

func (s *Sub) mergeLocked(us []Update) {
	for _, u := range us {
		if i, ok := s.index[u.Host]; ok {
			s.bytes += u.enc(s.complete).size() - s.queue[i].enc(s.complete).size()
			s.queue[i] = u
			s.merged++
			continue
		}
		s.index[u.Host] = len(s.queue)
		s.queue = append(s.queue, u)
		s.bytes += u.enc(s.complete).size() + 1
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
