package web

import (
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sysmon-dev/sysmon/internal/fleet"
)

const (
	writeWait      = 5 * time.Second // a client that cannot take a frame this long is dropped
	pongWait       = 30 * time.Second
	pingPeriod     = pongWait / 2
	maxClientFrame = 4 << 10 // the protocol has nothing to say to the server
	maxFrameBytes  = 1 << 20 // one update frame carries about this much at most
	// maxQueueBytes bounds what may wait for one client; with merging per
	// host it is only reached by a fleet of very large snapshots.
	maxQueueBytes = 64 << 20
)

type wsStats struct {
	connected, dropped atomic.Uint64
	active             atomic.Int64
}

type wsStatsView struct {
	Clients        int64  `json:"clients"`
	ConnectedTotal uint64 `json:"connected_total"`
	DroppedSlow    uint64 `json:"dropped_slow_total"`
}

func (s *wsStats) view() wsStatsView {
	return wsStatsView{Clients: s.active.Load(), ConnectedTotal: s.connected.Load(), DroppedSlow: s.dropped.Load()}
}

// serveWS upgrades, sends the state, then the updates: one reader and one
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

	state, sub := w.fleet.Subscribe(w.opts.SendBuffer, maxQueueBytes, time.Now())
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

// frame writes one text frame through fill, within the write deadline.
func frame(conn *websocket.Conn, fill func(wr interface{ Write([]byte) (int, error) }) error) error {
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

func (w *Web) writeLoop(conn *websocket.Conn, state *fleet.State, sub *fleet.Sub, readerDone <-chan struct{}) {
	// The state goes straight from the fleet's entries into the frame:
	// at 10,000 hosts it is megabytes, not worth a copy.
	err := frame(conn, func(wr interface{ Write([]byte) (int, error) }) error {
		head := `{"type":"state","server_time":"` + time.Now().UTC().Format(time.RFC3339Nano) +
			`","config":` + string(w.configJSON()) + `,"hosts":`
		if _, err := wr.Write([]byte(head)); err != nil {
			return err
		}
		if _, err := state.WriteTo(wr); err != nil {
			return err
		}
		_, err := wr.Write([]byte{'}'})
		return err
	})
	if err != nil {
		w.writeFailed(err, readerDone)
		return
	}
	state = nil // let the fleet's old entries go

	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	var pending []fleet.Update
	for {
		select {
		case <-sub.Ready():
			pending = sub.Take(pending)
			for len(pending) > 0 {
				n := 0
				err := frame(conn, func(wr interface{ Write([]byte) (int, error) }) error {
					if _, err := wr.Write([]byte(`{"type":"update","hosts":[`)); err != nil {
						return err
					}
					size := 0
					for ; n < len(pending) && (n == 0 || size < maxFrameBytes); n++ {
						if n > 0 {
							if _, err := wr.Write([]byte{','}); err != nil {
								return err
							}
						}
						if _, err := wr.Write(pending[n].JSON); err != nil {
							return err
						}
						size += len(pending[n].JSON)
					}
					_, err := wr.Write([]byte("]}"))
					return err
				})
				if err != nil {
					w.writeFailed(err, readerDone)
					return
				}
				pending = pending[n:]
			}
			pending = pending[:0]
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

// writeFailed counts a client as too slow only when it could not take a
// frame in time; one that went away is not slow.
func (w *Web) writeFailed(err error, readerDone <-chan struct{}) {
	select {
	case <-readerDone:
		return
	default:
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		w.slowClient()
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
