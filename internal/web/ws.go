package web

import (
	"bytes"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const (
	writeWait      = 5 * time.Second // a client that cannot take a frame this long is dropped
	pongWait       = 30 * time.Second
	pingPeriod     = pongWait / 2
	maxClientFrame = 4 << 10 // the protocol has nothing to say to the server
	maxBatchBytes  = 1 << 20 // one update frame carries at most this much
	maxBatchItems  = 4096
)

type wsStats struct {
	connected, dropped, refused atomic.Uint64
	active                      atomic.Int64
}

type wsStatsView struct {
	Clients        int64  `json:"clients"`
	ConnectedTotal uint64 `json:"connected_total"`
	DroppedSlow    uint64 `json:"dropped_slow_total"`
}

func (s *wsStats) view() wsStatsView {
	return wsStatsView{Clients: s.active.Load(), ConnectedTotal: s.connected.Load(), DroppedSlow: s.dropped.Load()}
}

// serveWS upgrades, sends the state, then every update: one reader and one
// writer goroutine per connection, as in gorilla's chat example.
func (w *Web) serveWS(rw http.ResponseWriter, r *http.Request) {
	if w.ctx.Err() != nil {
		http.Error(rw, "shutting down", http.StatusServiceUnavailable)
		return
	}
	conn, err := w.upgrader.Upgrade(rw, r, nil)
	if err != nil {
		return // the upgrader has answered (403 for a foreign origin)
	}
	w.clients.Add(1)
	w.wsStats.connected.Add(1)
	w.wsStats.active.Add(1)
	defer func() {
		w.wsStats.active.Add(-1)
		w.clients.Done()
	}()

	state, sub := w.fleet.Subscribe(w.opts.SendBuffer, time.Now())
	defer w.fleet.Unsubscribe(sub)

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		conn.SetReadLimit(maxClientFrame)
		_ = conn.SetReadDeadline(time.Now().Add(pongWait))
		conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
		for {
			// Anything a client sends is ignored; an oversized frame
			// closes the connection (gorilla answers 1009).
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	w.writeLoop(conn, state, sub, readerDone)
	conn.Close()
	<-readerDone
}

func (w *Web) writeLoop(conn *websocket.Conn, state []byte, sub interface {
	C() <-chan []byte
	Dropped() <-chan struct{}
}, readerDone <-chan struct{}) {
	write := func(b []byte) bool {
		_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
		return conn.WriteMessage(websocket.TextMessage, b) == nil
	}
	var frame bytes.Buffer
	frame.WriteString(`{"type":"state","server_time":"`)
	frame.WriteString(time.Now().UTC().Format(time.RFC3339Nano))
	frame.WriteString(`","config":`)
	frame.Write(w.configJSON())
	frame.WriteString(`,"hosts":`)
	frame.Write(state)
	frame.WriteByte('}')
	if !write(frame.Bytes()) {
		return
	}
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	for {
		select {
		case msg := <-sub.C():
			// Coalesce whatever else is already waiting into one frame.
			frame.Reset()
			frame.WriteString(`{"type":"update","hosts":[`)
			frame.Write(msg)
		batch:
			for n := 1; n < maxBatchItems && frame.Len() < maxBatchBytes; n++ {
				select {
				case more := <-sub.C():
					frame.WriteByte(',')
					frame.Write(more)
				default:
					break batch
				}
			}
			frame.WriteString("]}")
			if !write(frame.Bytes()) {
				w.slowClient()
				return
			}
		case <-sub.Dropped():
			w.slowClient()
			w.closeWith(conn, websocket.ClosePolicyViolation, "too slow: fell behind the update stream")
			return
		case <-ping.C:
			if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)) != nil {
				return
			}
		case <-readerDone:
			return
		case <-w.ctx.Done():
			w.closeWith(conn, websocket.CloseGoingAway, "server shutting down")
			return
		}
	}
}

func (w *Web) slowClient() {
	if w.wsStats.dropped.Add(1) == 1 {
		w.log.Warn("dropped a slow WebSocket client (logged once; see /api/status for the count)")
	}
}

func (w *Web) closeWith(conn *websocket.Conn, code int, text string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}
