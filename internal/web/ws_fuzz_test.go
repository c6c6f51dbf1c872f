package web_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/hub"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/web"
)

// FuzzWSFrames sends whatever a client may send to a real /ws: well-formed
// messages of any type and size, or raw bytes straight onto the socket after
// the handshake (malformed, unmasked, truncated or oversized frames). The
// server must ignore or close, never crash or hang, and stay able to serve
// the next client with no connection left behind.
func FuzzWSFrames(f *testing.F) {
	f.Add(false, byte(websocket.TextMessage), []byte("hello"))
	f.Add(false, byte(websocket.BinaryMessage), make([]byte, 5000))
	f.Add(false, byte(websocket.PingMessage), []byte("ping"))
	f.Add(false, byte(websocket.CloseMessage), []byte{0x03, 0xe8, 'b', 'y', 'e'})
	f.Add(true, byte(0), []byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'})                                    // unmasked
	f.Add(true, byte(0), []byte{0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}) // 2^63 bytes announced
	f.Add(true, byte(0), []byte{0x01, 0x81, 0, 0, 0, 0, 'a', 0x89, 0x80, 0, 0, 0, 0})                    // fragment + ping
	f.Add(true, byte(0), []byte{0x8f, 0x80, 1, 2, 3, 4})                                                 // reserved opcode

	fl := fleet.New(fleet.Config{HistorySize: 4, MaxHosts: 4, StaleAfter: 3, OfflineAfter: 10})
	w := web.New(web.Options{Version: "fuzz"}, fl, hub.New(fl, hub.Options{SendBuffer: 16}, slog.New(slog.DiscardHandler)),
		mq.NewStatus(), slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(w.Handler())
	f.Cleanup(func() {
		done := make(chan struct{})
		go func() { w.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			panic("web.Close did not return: a WebSocket goroutine hangs")
		}
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	dial := func(t *testing.T) *websocket.Conn {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, b, err := c.ReadMessage(); err != nil || !json.Valid(b) {
			t.Fatalf("state frame: %v %q", err, b)
		}
		return c
	}
	clients := func() int64 {
		resp, err := http.Get(srv.URL + "/api/status")
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		var s struct {
			WebSocket struct{ Clients int64 } `json:"websocket"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&s)
		return s.WebSocket.Clients
	}

	f.Fuzz(func(t *testing.T, raw bool, kind byte, data []byte) {
		c := dial(t)
		if raw {
			_ = c.UnderlyingConn().SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.UnderlyingConn().Write(data)
		} else {
			mt := []int{websocket.TextMessage, websocket.BinaryMessage, websocket.CloseMessage,
				websocket.PingMessage, websocket.PongMessage}[int(kind)%5]
			if mt >= websocket.CloseMessage {
				// Control frames carry at most 125 bytes.
				_ = c.WriteControl(mt, data[:min(len(data), 125)], time.Now().Add(time.Second))
			} else {
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				_ = c.WriteMessage(mt, data)
			}
		}
		c.Close()
		// The server lets go of the connection and serves the next client.
		deadline := time.Now().Add(5 * time.Second)
		for clients() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the server still holds %d WebSocket clients after they closed", clients())
			}
			time.Sleep(time.Millisecond)
		}
		dial(t).Close()
	})
}
