package hub

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sysmon-dev/sysmon/internal/fleet"
)

// countingConn counts the bytes a client reads off the wire.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// TestCompressedAndPlainDashboardsGetTheSameFrames: a dashboard that offers
// permessage-deflate (as every browser does) gets it, and the same update
// frames as one that does not, in far fewer bytes on the wire; the tick's
// frame is made once for both (batch.prepared).
func TestCompressedAndPlainDashboardsGetTheSameFrames(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 10, MaxHosts: 100, Expire: time.Hour, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{Tick: time.Hour}, discard) // ticks by hand
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h.ServeWS(rw, r, []byte(`{}`))
	}))
	t.Cleanup(func() { h.Close(); srv.Close() })
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"

	type client struct {
		conn *websocket.Conn
		wire atomic.Int64
	}
	dial := func(compress bool) *client {
		c := &client{}
		d := websocket.Dialer{EnableCompression: compress, NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{nc, &c.wire}, nil
		}}
		conn, resp, err := d.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if got := strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate"); got != compress {
			t.Fatalf("offered compression %v, negotiated %v (%q)", compress, got, resp.Header.Get("Sec-WebSocket-Extensions"))
		}
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, _, err := conn.ReadMessage(); err != nil { // the state
			t.Fatal(err)
		}
		c.conn = conn
		return c
	}
	zipped, plain := dial(true), dial(false)
	for h.Subscribers() < 2 {
		time.Sleep(time.Millisecond)
	}
	w0, p0 := zipped.wire.Load(), plain.wire.Load()

	for tick := range uint64(5) {
		for i := range 50 {
			s := snap(fmt.Sprintf("host-%02d", i), "i", tick+1)
			f.Apply(s, body(s), "", time.Now())
		}
		h.tick()
		a, b := readUpdate(t, zipped.conn), readUpdate(t, plain.conn)
		if a != b || !strings.Contains(a, `"host-49"`) {
			t.Fatalf("tick %d: the compressed dashboard got %d bytes, the plain one %d, or not every host", tick, len(a), len(b))
		}
	}
	w, p := zipped.wire.Load()-w0, plain.wire.Load()-p0
	t.Logf("on the wire: %d bytes compressed, %d plain", w, p)
	if w*3 > p {
		t.Errorf("compressed dashboard read %d bytes, plain %d: want under a third", w, p)
	}
}

func readUpdate(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
