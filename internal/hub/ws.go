package hub

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

const (
	writeWait      = 5 * time.Second // a client that cannot take a frame this long is dropped
	pongWait       = 30 * time.Second
	pingPeriod     = pongWait / 2
	maxClientFrame = 4 << 10 // a watch message is far smaller
	watchRate      = 10      // watch messages a second, and a burst of as many
	// defaultQueueBytes bounds what may wait for one client; with merging
	// per host it is only reached by a fleet of very large snapshots.
	defaultQueueBytes = 64 << 20
)

type wsStats struct {
	connected, dropped, refused atomic.Uint64
	active                      atomic.Int64
}

// Stats are the WebSocket counters for /api/status.
type Stats struct {
	Clients        int64  `json:"clients"`
	ConnectedTotal uint64 `json:"connected_total"`
	DroppedSlow    uint64 `json:"dropped_slow_total"`
	// Client messages ignored: not a WatchMessage, or over the rate.
	RefusedMessages uint64 `json:"refused_messages_total"`
}

// Stats returns the WebSocket counters.
func (h *Hub) Stats() Stats {
	return Stats{Clients: h.stats.active.Load(), ConnectedTotal: h.stats.connected.Load(), DroppedSlow: h.stats.dropped.Load(),
		RefusedMessages: h.stats.refused.Load()}
}

// Clients is the number of connected WebSocket clients.
func (h *Hub) Clients() int64 { return h.stats.active.Load() }

// Dropped counts the WebSocket clients dropped as too slow.
func (h *Hub) Dropped() uint64 { return h.stats.dropped.Load() }

// Close ends every WebSocket with a "going away" close frame and waits for
// their goroutines.
func (h *Hub) Close() {
	h.cancel()
	h.clients.Wait()
}

// ServeWS upgrades, sends the state (its frames: protocol.go) with config as its "config", then
// the updates: one reader and one writer goroutine per connection, as in
// gorilla's chat example.
func (h *Hub) ServeWS(rw http.ResponseWriter, r *http.Request, config []byte) {
	if h.ctx.Err() != nil {
		http.Error(rw, "shutting down", http.StatusServiceUnavailable)
		return
	}
	conn, err := h.upgrader.Upgrade(rw, r, nil)
	if err != nil {
		return // the upgrader has answered (403 for a foreign origin)
	}
	h.clients.Add(1)
	h.stats.connected.Add(1)
	h.stats.active.Add(1)
	defer func() {
		h.stats.active.Add(-1)
		h.clients.Done()
	}()

	queueBytes := h.opts.MaxQueueBytes
	if queueBytes <= 0 {
		queueBytes = defaultQueueBytes
	}
	state, sub := h.Subscribe(h.opts.SendBuffer, queueBytes, r.URL.Query().Get("complete") == "1", time.Now())
	defer h.Unsubscribe(sub)

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		conn.SetReadLimit(maxClientFrame)
		_ = conn.SetReadDeadline(time.Now().Add(pongWait))
		conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
		// A person opens a host view a few times a minute; more is a
		// client misbehaving, and each watch takes the hub's lock.
		limit := rate.NewLimiter(rate.Limit(watchRate), watchRate)
		for {
			// An oversized frame closes the connection (gorilla answers
			// 1009); anything else but a watch message is ignored.
			_, rd, err := conn.NextReader()
			if err != nil {
				return
			}
			b, err := io.ReadAll(rd)
			if err != nil {
				return
			}
			host, ok := parseWatch(b)
			if !ok || !limit.Allow() {
				h.refused()
				continue
			}
			h.Watch(sub, host)
		}
	}()
	h.writeLoop(conn, config, state, sub, readerDone)
	conn.Close()
	<-readerDone
}

// frame writes one text frame through fill, within the write deadline.
func frame(conn *websocket.Conn, fill func(wr io.Writer) error) error {
	_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
	wr, err := conn.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	if err := fill(wr); err != nil {
		wr.Close()
		return err
	}
	return wr.Close()
}

func (h *Hub) writeLoop(conn *websocket.Conn, config []byte, state *State, sub *Sub, readerDone <-chan struct{}) {
	// The state goes straight from the kept entries into the frame:
	// at 10,000 hosts it is megabytes, not worth a copy. It is not
	// compressed: written for one dashboard, compressing it would cost the
	// consumer CPU in proportion to the dashboards and the fleet, where the
	// tick frames are compressed once for all.
	// It goes in parts of StatePart hosts (protocol.go), each its own
	// frame: the page parses one while the next comes.
	conn.EnableWriteCompression(false)
	now := time.Now()
	for part, more := 0, true; more; part++ {
		err := frame(conn, func(wr io.Writer) error {
			var err error
			more, err = state.WriteFrame(wr, part, now, config)
			return err
		})
		if err != nil {
			h.writeFailed(err, readerDone)
			return
		}
	}
	state = nil                       // let the old entries go
	conn.EnableWriteCompression(true) // a no-op unless the client negotiated it

	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	var pending Pending
	for {
		select {
		case <-sub.Ready():
			// One frame for whatever waits: one tick's batch while the
			// dashboard keeps up.
			sub.Take(&pending)
			if pending.Len() == 0 && pending.watched == nil {
				continue
			}
			pm, err := pending.Prepared()
			if pm != nil {
				// A tick's frame as every dashboard gets it: made (and
				// compressed) once, one system call per dashboard.
				_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
				err = conn.WritePreparedMessage(pm)
			} else if err == nil {
				err = frame(conn, pending.WriteFrame)
			}
			if err != nil {
				h.writeFailed(err, readerDone)
				return
			}
			pending.reset()
		case <-sub.Dropped():
			h.slowClient()
			h.closeWith(conn, websocket.ClosePolicyViolation, "too slow: fell behind the update stream")
			return
		case <-ping.C:
			if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)) != nil {
				return
			}
		case <-readerDone:
			return
		case <-h.ctx.Done():
			h.closeWith(conn, websocket.CloseGoingAway, "server shutting down")
			return
		}
	}
}

// writeFailed counts a client as too slow only when it could not take a
// frame in time; one that went away is not slow.
func (h *Hub) writeFailed(err error, readerDone <-chan struct{}) {
	select {
	case <-readerDone:
		return
	default:
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		h.slowClient()
	}
}

// parseWatch reads a WatchMessage; ok is false for anything else.
func parseWatch(b []byte) (host string, ok bool) {
	var m WatchMessage
	if json.Unmarshal(b, &m) != nil || m.Type != "watch" {
		return "", false
	}
	if m.Host == nil {
		return "", true
	}
	if len(*m.Host) > snapshot.MaxHostLen { // no host has a longer name
		return "", false
	}
	return *m.Host, true
}

func (h *Hub) refused() {
	if h.stats.refused.Add(1) == 1 {
		h.log.Warn("ignored a WebSocket client's message that is not a watch, or over the rate (logged once; see /api/status for the count)")
	}
}

func (h *Hub) slowClient() {
	if h.stats.dropped.Add(1) == 1 {
		h.log.Warn("dropped a slow WebSocket client (logged once; see /api/status for the count)")
	}
}

func (h *Hub) closeWith(conn *websocket.Conn, code int, text string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}
