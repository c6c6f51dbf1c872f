// Package hub owns the dashboards: their WebSocket connections and
// subscriptions, and the protocol they speak (protocol.go), which it alone
// writes, the JSON API's host entries included. It takes the fleet's changes
// outside the fleet's lock and fans them out.
package hub

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/server"
)

// Options configure the hub.
type Options struct {
	// Tick is how often the dashboards get what changed: each at most one
	// frame per tick, with the newest entry of each host that changed, so
	// that their cost grows with the hosts that change per tick and not
	// with the message rate. 0 sends each change as soon as it is filed
	// (the cost then grows with the rate).
	Tick time.Duration
	// SendBuffer is the number of updates queued per dashboard, beyond one
	// tick's, before further ones merge per host.
	SendBuffer int
	// MaxQueueBytes is what may wait for one dashboard before it is
	// dropped as too slow; 0 means 64 MiB.
	MaxQueueBytes int
}

// Hub is safe for concurrent use.
type Hub struct {
	fleet *fleet.Fleet
	opts  Options
	log   *slog.Logger

	// mu orders everything dashboards see: changes are taken from the
	// fleet, encoded, kept and sent under it, and a subscription's state is
	// copied under it.
	mu      sync.Mutex
	latest  map[string]*latest // the entry each host's dashboards last got
	subs    map[*Sub]struct{}
	changes []fleet.Change
	common  []byte         // scratch of flushLocked
	group   map[string]int // scratch of flushLocked: host → index in groups
	groups  []group
	// Who reads an update's complete entry: the subscriptions that want
	// complete entries, and those that watch a host (how many watch each;
	// a host no one watches is not in the map).
	complete int
	watched  map[string]int

	upgrader websocket.Upgrader
	ctx      context.Context // ends when the hub closes
	cancel   context.CancelFunc
	clients  sync.WaitGroup
	stats    wsStats
}

// group is one host's changes in a flush: the newest, and the points of
// those before it.
type group struct {
	c      *fleet.Change
	points []*fleet.Point
}

// latest is one host's latest update, kept encoded for the state frame; its
// status is written afresh into each state.
//
// At 100,000 hosts these are the hub's share of the consumer's heap, so a
// latest holds only what a state reads: the lean head (up to the figures'
// lists), in an allocation of its own size. The rest of the update (the
// lists, the snapshot, the point) is written beside it and sent once; a
// dashboard that starts watching a host gets its complete entry from the
// fleet (Watch).
type latest struct {
	lean                []byte
	statusAt, statusEnd int
	// The host's facts in lean: [factsAt, factsEnd) and [figFactsAt, the end).
	factsAt, factsEnd, figFactsAt int32
	// For the status.
	lastSeen time.Time
	interval float64
	goodbye  bool
}

// New returns the hub of a fleet's dashboards; from now on it takes every
// change of the fleet. With a tick, Run must run for dashboards to get
// updates.
func New(f *fleet.Fleet, opts Options, log *slog.Logger) *Hub {
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{fleet: f, opts: opts, log: log, latest: map[string]*latest{}, subs: map[*Sub]struct{}{},
		group: map[string]int{}, watched: map[string]int{}, ctx: ctx, cancel: cancel,
		upgrader: websocket.Upgrader{
			HandshakeTimeout: 5 * time.Second,
			ReadBufferSize:   1024,
			WriteBufferSize:  16 << 10,
			// permessage-deflate, as browsers offer it: a tick's frame is
			// compressed once for every dashboard (batch.prepared), and a
			// fleet's JSON shrinks several times over a slow link.
			EnableCompression: true,
			// The server's rule against cross-site WebSocket hijacking
			// (which refuses such a handshake before it gets here).
			CheckOrigin: server.SameOrigin,
		}}
	if opts.Tick > 0 {
		f.Watch(func() {}) // the changes wait in the fleet's log for the next tick
	} else {
		f.Watch(h.flush)
	}
	h.flush() // the hosts filed before
	return h
}

// Run sends what changed to the dashboards every tick until ctx ends;
// without a tick there is nothing to do (each change is sent as it is
// filed).
func (h *Hub) Run(ctx context.Context) error {
	if h.opts.Tick <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(h.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			h.tick()
		}
	}
}

// tick sends what changed since the last tick.
func (h *Hub) tick() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flushLocked(time.Now())
}

// flush takes the fleet's changes and sends them to every dashboard.
func (h *Hub) flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flushLocked(time.Time{})
}

// flushLocked takes the changes (with a time, after forgetting the hosts
// expired by then), encodes each changed host's newest entry once, and
// sends them, as one batch, to every dashboard.
func (h *Hub) flushLocked(now time.Time) {
	h.changes = h.fleet.Changes(now, h.changes)
	if len(h.changes) == 0 {
		return
	}
	// One group per host, in the order the hosts first changed.
	for i := range h.changes {
		c := &h.changes[i]
		k, ok := h.group[c.Entry.Host]
		if !ok {
			k = len(h.groups)
			h.group[c.Entry.Host] = k
			h.groups = append(h.groups, group{})
		}
		g := &h.groups[k]
		switch {
		case c.Removed:
			g.points = g.points[:0] // a host filed again after this starts afresh
		case g.c != nil && !g.c.Removed && g.c.Point.T != 0:
			g.points = append(g.points, &g.c.Point)
		}
		g.c = c
	}
	bt := &batch{updates: make([]Update, 0, len(h.groups))}
	// The merged points go in complete entries only: who wants them (a
	// host view, GET /ws?complete=1) gets those.
	withPoints := h.complete > 0 || len(h.watched) > 0
	for i := range h.groups {
		g := &h.groups[i]
		c := g.c
		u := Update{Host: c.Entry.Host, Removed: c.Removed}
		if c.Removed {
			delete(h.latest, c.Entry.Host)
			u.Full = &Encoded{Head: appendRemoved(nil, c.Entry.Host)}
			u.Lean = u.Full
		} else {
			l, full, tail := h.encode(c)
			prev := h.latest[u.Host]
			h.latest[u.Host] = l
			pointTail := tail
			if len(g.points) > 0 && withPoints {
				// The tick merged several updates of the host: the charts
				// still get every point.
				pts := g.points[max(0, len(g.points)-MaxPoints):]
				tail = append(make([]byte, 0, 16+len(pointTail)+len(pts)*(128+8*len(c.Point.Cores()))), `,"points":[`...)
				for k, p := range pts {
					if k > 0 {
						tail = append(tail, ',')
					}
					tail = appendPoint(tail, p, nil)
				}
				tail = append(append(tail, ']'), pointTail...)
			}
			// The fleet keeps the snapshot packed: unpacked only when
			// a subscriber reads the complete entry (else it is left
			// out, as the merged points are without withPoints).
			var snap []byte
			if h.complete > 0 || h.watched[u.Host] > 0 {
				snap = c.Entry.Snapshot.Plain()
			}
			u.Full = &Encoded{Head: full, Mid: snap, Tail: tail}
			u.Lean = &Encoded{Head: l.lean, Mid: leanEnd}
			if prev != nil && l.sameFacts(prev) {
				// The dashboards that got every frame know them.
				u.Delta = &Encoded{Head: l.lean[:l.factsAt], Mid: l.lean[l.factsEnd:l.figFactsAt], Tail: leanEnd}
			}
		}
		bt.updates = append(bt.updates, u)
		clear(g.points)
		*g = group{points: g.points[:0]}
	}
	h.groups = h.groups[:0]
	clear(h.group)
	clear(h.changes)
	if len(h.subs) == 0 {
		return
	}

	// The frames are written once and shared by every dashboard that keeps
	// up: lean, and complete if a subscriber wants that.
	bt.lean = frameOf(bt.updates, false)
	if h.complete > 0 {
		bt.full = frameOf(bt.updates, true)
	}
	if len(h.watched) > 0 {
		bt.index = make(map[string]int, len(bt.updates))
		for i, u := range bt.updates {
			bt.index[u.Host] = i
		}
	}
	for sub := range h.subs {
		sub.send(bt)
	}
}

// sameFacts says whether l and p have the same facts (FactKeys).
func (l *latest) sameFacts(p *latest) bool {
	return bytes.Equal(l.lean[l.factsAt:l.factsEnd], p.lean[p.factsAt:p.factsEnd]) &&
		bytes.Equal(l.lean[l.figFactsAt:], p.lean[p.figFactsAt:])
}

// leanEnd closes a lean entry: its figures, then the entry, which has no
// point (protocol.go: only complete entries carry points).
var leanEnd = []byte("}}")

// entryEnd closes a complete entry without its point.
var entryEnd = []byte("}")

// frameOf writes an update frame of us; lean, with the deltas.
func frameOf(us []Update, complete bool) []byte {
	size := len(updatePrefix) + len(updateSuffix)
	for i := range us {
		size += us[i].enc(complete).size() + 1 // a delta is smaller
	}
	f := make([]byte, 0, size)
	f = append(f, updatePrefix...)
	for i := range us {
		if i > 0 {
			f = append(f, ',')
		}
		e := us[i].enc(complete)
		if !complete && us[i].Delta != nil {
			e = us[i].Delta
		}
		f = append(append(append(f, e.Head...), e.Mid...), e.Tail...)
	}
	return append(f, updateSuffix...)
}

// encode writes a changed host's entry as the hub keeps it, and the
// complete head and the tail (the point) of its update, which it does not
// keep.
func (h *Hub) encode(c *fleet.Change) (l *latest, full, tail []byte) {
	var common []byte
	if c.Point.T != 0 {
		// The point's figures are the entry's: written once.
		h.common = appendCommon(h.common[:0], commonOfPoint(&c.Point))
		common = h.common
	}
	// The complete head and the point in one allocation, sized for most.
	fig := &c.Entry.Figures
	b := make([]byte, 0, 256+len(c.Entry.Host)+len(c.Entry.HostID)+fig.Size())
	b, m := appendHead(b, &c.Entry, common)
	n := len(b)
	full = b[:n:n]
	if c.Point.T != 0 {
		tail = append(appendPoint(append(b[n:n], `,"point":`...), &c.Point, common), '}')
	} else { // a host without history (HISTORY_SIZE 0, or all given up to the memory budget)
		tail = append(b[n:n], `,"point":null}`...)
	}
	return &latest{lean: append(make([]byte, 0, m.listsAt+len(leanEnd)), b[:m.listsAt]...),
		statusAt: m.statusAt, statusEnd: m.statusEnd,
		factsAt: int32(m.factsAt), factsEnd: int32(m.factsEnd), figFactsAt: int32(m.figFactsAt),
		lastSeen: c.Entry.LastSeen, interval: c.Entry.Interval, goodbye: c.Entry.Goodbye}, full, tail
}

// State is the fleet as it was when a subscription started: each host's
// latest entry (lean: see StateFrame) with its status then. It is written
// outside every lock.
type State struct {
	entries []stateEntry
}

type stateEntry struct {
	*latest
	host   string
	status string
}

// Hosts is the number of hosts in the state.
func (st *State) Hosts() int { return len(st.entries) }

// WriteTo writes the whole state as one JSON array of hosts, as GET
// /ws sends it in parts (WriteFrame).
func (st *State) WriteTo(w io.Writer) (int64, error) {
	return st.writeHosts(w, st.entries)
}

// WriteFrame writes the state's frame number part (from 0): the StateFrame,
// then StatePartFrames, each with at most StatePart hosts. more says
// whether another part follows.
func (st *State) WriteFrame(w io.Writer, part int, serverTime time.Time, config []byte) (more bool, err error) {
	from := min(part*StatePart, len(st.entries))
	to := min(from+StatePart, len(st.entries))
	more = to < len(st.entries)
	var head []byte
	if part == 0 {
		head = append(head, `{"type":"state","server_time":"`...)
		head = serverTime.UTC().AppendFormat(head, time.RFC3339Nano)
		head = append(head, `","config":`...)
		head = append(head, config...)
		head = append(head, `,"total":`...)
		head = strconv.AppendInt(head, int64(len(st.entries)), 10)
		head = append(head, `,"hosts":`...)
	} else {
		head = append(head, `{"type":"state_part","hosts":`...)
	}
	if _, err := w.Write(head); err != nil {
		return more, err
	}
	if _, err := st.writeHosts(w, st.entries[from:to]); err != nil {
		return more, err
	}
	tail := "}"
	if more {
		tail = `,"more":true}`
	}
	_, err = io.WriteString(w, tail)
	return more, err
}

// writeHosts writes entries as a JSON array, in chunks of about 64 KiB (a
// WebSocket writes those straight to the socket).
func (st *State) writeHosts(w io.Writer, entries []stateEntry) (int64, error) {
	const chunk = 64 << 10
	var n int64
	buf := make([]byte, 0, chunk+4<<10)
	buf = append(buf, '[')
	for i, e := range entries {
		if i > 0 {
			buf = append(buf, ',')
		}
		// Lean: the head without the figures' lists, the snapshot and
		// the point.
		buf = append(buf, e.lean[:e.statusAt]...)
		buf = append(buf, e.status...)
		buf = append(buf, e.lean[e.statusEnd:]...)
		buf = append(buf, leanEnd...)
		if len(buf) >= chunk {
			k, err := w.Write(buf)
			n += int64(k)
			if err != nil {
				return n, err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, ']')
	k, err := w.Write(buf)
	return n + int64(k), err
}

// Subscribe returns the current state and a subscription to every later
// update: nothing is missed and nothing is sent twice between the two. Once
// more than mergeAfter updates (and more than one batch) wait, they merge
// per host; past maxBytes waiting the subscriber is dropped.
func (h *Hub) Subscribe(mergeAfter, maxBytes int, complete bool, now time.Time) (*State, *Sub) {
	sub := newSub(mergeAfter, maxBytes, complete)
	h.mu.Lock()
	if h.opts.Tick <= 0 {
		h.flushLocked(now)
	} // else the state is the last tick's, and the next tick sends what changed since

	st := &State{entries: make([]stateEntry, 0, len(h.latest))}
	for host, l := range h.latest {
		e := fleet.Entry{LastSeen: l.lastSeen, Interval: l.interval, Goodbye: l.goodbye}
		st.entries = append(st.entries, stateEntry{latest: l, host: host, status: h.fleet.StatusAt(&e, now)})
	}
	h.subs[sub] = struct{}{}
	if complete {
		h.complete++
	}
	h.mu.Unlock()
	// By name, outside the lock: the first part is the first screen of a
	// dashboard sorted by name (its default), and the parts after it add
	// hosts below that screen instead of reshuffling it. In the map's
	// order, each part put other hosts on the first screen: their tiles
	// were drawn and laid out again at each part of a 10,000-host state.
	slices.SortFunc(st.entries, func(a, b stateEntry) int { return strings.Compare(a.host, b.host) })
	return st, sub
}

// Unsubscribe ends a subscription.
func (h *Hub) Unsubscribe(sub *Sub) {
	h.mu.Lock()
	if _, ok := h.subs[sub]; ok {
		delete(h.subs, sub)
		if sub.complete {
			h.complete--
		}
		h.watchLocked(sub, "", nil)
	}
	h.mu.Unlock()
	sub.close()
}

// Watch makes sub get the complete entry of host ("": none), the host view's
// snapshot and lists: now, and in every frame in which the host changed.
func (h *Hub) Watch(sub *Sub, host string) {
	// The hub keeps lean entries only: the complete one is the fleet's,
	// written before the hub's lock is taken (the fleet may call the hub
	// back when it lets go of its own). It may be newer than what the
	// dashboards last got, never older; the next frame sends the host
	// again if it changed.
	var watched *Encoded
	if host != "" {
		if e, _, found := h.fleet.Host(host, time.Now(), 0); found {
			// Without its point, a sample the history that the host
			// view reads (GET /api/hosts?host=) has already.
			head, _ := appendHead(nil, &e, nil)
			watched = &Encoded{Head: head, Mid: e.Snapshot.Plain(), Tail: entryEnd}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[sub]; ok {
		h.watchLocked(sub, host, watched)
		sub.signal()
	}
}

// watchLocked makes sub watch host, whose complete entry is watched (nil if
// the fleet did not have it), if the dashboards have it.
func (h *Hub) watchLocked(sub *Sub, host string, watched *Encoded) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.watch != "" {
		if h.watched[sub.watch]--; h.watched[sub.watch] == 0 {
			delete(h.watched, sub.watch)
		}
	}
	sub.watch, sub.watched = host, nil
	if host != "" {
		h.watched[host]++
		if h.latest[host] != nil {
			sub.watched = watched
		}
	}
}

// Subscribers is the number of subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// WriteHosts writes the JSON array of every host's HostEntry, sorted by
// name, without point or history.
func (h *Hub) WriteHosts(w io.Writer, now time.Time) error {
	hosts := h.fleet.Hosts(now, nil)
	entries := make([]apiEntry, len(hosts))
	for i := range hosts {
		head, _ := appendHead(nil, &hosts[i], nil)
		entries[i] = apiEntry{head: head, snap: hosts[i].Snapshot}
	}
	return writeEntries(w, entries, true)
}

// WriteHost writes one host's HostEntry with up to maxPoints points of its
// history, oldest first (all when maxPoints < 0); found is false if it is
// unknown.
func (h *Hub) WriteHost(w io.Writer, name string, now time.Time, maxPoints int) (found bool, err error) {
	e, hist, found := h.fleet.Host(name, now, maxPoints)
	if !found {
		return false, nil
	}
	head, _ := appendHead(nil, &e, nil)
	return true, writeEntries(w, []apiEntry{{head: head, snap: e.Snapshot, hist: hist, withHist: true}}, false)
}
