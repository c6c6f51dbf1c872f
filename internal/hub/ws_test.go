package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sysmon-dev/sysmon/internal/fleet"
)

// TestWebSocketStateThenEveryUpdateOnce: a dashboard that connects while
// two hosts publish gets a state frame, then every later snapshot of each
// host once, in order (nothing missed, nothing twice), then the removal of a
// host the fleet forgets; the frames decode into protocol.go's types.
func TestWebSocketStateThenEveryUpdateOnce(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 10, MaxHosts: 10, Expire: time.Hour, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{SendBuffer: 10000}, discard)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h.ServeWS(rw, r, []byte(`{"version":"test"}`))
	}))
	t.Cleanup(func() { h.Close(); srv.Close() })
	t0 := time.Now()
	f.Apply(snap("old", "i", 1), body(snap("old", "i", 1)), "", t0.Add(-30*time.Minute))

	const n = 300
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := uint64(1); i <= n; i++ {
			for _, host := range []string{"a", "b"} {
				s := snap(host, "i", i)
				f.Apply(s, body(s), "", t0.Add(time.Duration(i)*time.Millisecond))
			}
			if i == 20 {
				time.Sleep(time.Millisecond) // let the dashboard connect meanwhile
			}
		}
	}()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var state struct {
		StateFrame
		Config map[string]string `json:"config"`
	}
	if err := c.ReadJSON(&state); err != nil || state.Type != "state" || state.Config["version"] != "test" {
		t.Fatalf("first frame %+v, %v", state, err)
	}
	next := map[string]uint64{"a": 1, "b": 1}
	for _, e := range state.Hosts {
		next[e.Host] = *e.Figures.Seq + 1
	}
	<-done
	// Forget "old": offline for longer than Expire when a new snapshot
	// comes an hour later (a and b not yet).
	f.Apply(snap("c", "i", 1), body(snap("c", "i", 1)), "", t0.Add(time.Hour))
	removed := false
	for next["a"] <= n || next["b"] <= n || !removed {
		var u struct {
			Type  string            `json:"type"`
			Hosts []json.RawMessage `json:"hosts"`
		}
		if err := c.ReadJSON(&u); err != nil || u.Type != "update" {
			t.Fatalf("update frame %+v, %v (waiting for %v, removed %v)", u, err, next, removed)
		}
		for _, raw := range u.Hosts {
			if strings.Contains(string(raw), `"removed":true`) {
				var r RemovedEntry
				decodeStrict(t, raw, &r)
				if r.Host != "old" || removed {
					t.Fatalf("removal %s", raw)
				}
				removed = true
				continue
			}
			var e HostEntry
			decodeStrict(t, raw, &e)
			if e.Host == "c" {
				continue
			}
			if e.Point != nil || *e.Figures.Seq != next[e.Host] || e.Snapshot != nil {
				t.Fatalf("host %s: seq %d, want %d, lean (%s)", e.Host, *e.Figures.Seq, next[e.Host], raw)
			}
			next[e.Host]++
		}
	}
}

// TestWebSocketSlowClientIsDropped: a dashboard that stops reading while
// more than its queue's worth of hosts change is dropped and counted (the
// hub never waits for it); a new dashboard then gets the whole fleet.
func TestWebSocketSlowClientIsDropped(t *testing.T) {
	for _, tick := range []time.Duration{0, 10 * time.Millisecond} {
		t.Run(fmt.Sprint("tick=", tick), func(t *testing.T) { testSlowClientIsDropped(t, tick) })
	}
}

func testSlowClientIsDropped(t *testing.T, tick time.Duration) {
	f := fleet.New(fleet.Config{HistorySize: 2, MaxHosts: 5000, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{Tick: tick, SendBuffer: 16, MaxQueueBytes: 256 << 10}, discard)
	url := serveHub(t, h)
	slow, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	var state StateFrame
	if err := slow.ReadJSON(&state); err != nil {
		t.Fatal(err)
	}
	// The slow dashboard reads nothing more. Each round changes every
	// host (no merging helps), far more than the socket buffers hold.
	for round := uint64(1); h.Dropped() == 0; round++ {
		if round > 1000 {
			t.Fatal("a dashboard that reads nothing was never dropped")
		}
		for i := range 3000 {
			s := snap(fmt.Sprintf("host-%04d", i), "i", round)
			f.Apply(s, body(s), "", time.Now())
		}
		time.Sleep(tick) // a tick for each round
	}
	if h.Dropped() != 1 {
		t.Fatalf("dropped %d dashboards, want the one slow one", h.Dropped())
	}
	fresh, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	_ = fresh.SetReadDeadline(time.Now().Add(30 * time.Second))
	if hosts := readState(t, fresh); len(hosts) != 3000 {
		t.Fatalf("a new dashboard got %d hosts, want 3000", len(hosts))
	}
}

// serveHub runs h (until the test ends) behind a test server and returns
// the WebSocket URL of its GET /ws.
func serveHub(t *testing.T, h *Hub) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var run sync.WaitGroup
	run.Go(func() { h.Run(ctx) })
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h.ServeWS(rw, r, []byte(`{}`))
	}))
	t.Cleanup(func() { cancel(); run.Wait(); h.Close(); srv.Close() })
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
}

// readState reads a state in all its parts (StateFrame, StatePartFrames)
// and checks that they add up: Total hosts, each once, at most StatePart a
// frame, More on all but the last.
func readState(t *testing.T, c *websocket.Conn) []HostEntry {
	t.Helper()
	var hosts []HostEntry
	total, seen := -1, map[string]bool{}
	for more := true; more; {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read the state after %d hosts: %v", len(hosts), err)
		}
		var part []HostEntry
		if total < 0 {
			var st StateFrame
			decodeStrict(t, b, &st)
			if st.Type != "state" {
				t.Fatalf("first frame of type %q", st.Type)
			}
			total, part, more = st.Total, st.Hosts, st.More
		} else {
			var p StatePartFrame
			decodeStrict(t, b, &p)
			if p.Type != "state_part" {
				t.Fatalf("frame of type %q after %d of the state's %d hosts", p.Type, len(hosts), total)
			}
			part, more = p.Hosts, p.More
		}
		if len(part) > StatePart || (more && len(part) != StatePart) {
			t.Fatalf("a part of %d hosts (more %v), want %d but for the last", len(part), more, StatePart)
		}
		for _, e := range part {
			if seen[e.Host] {
				t.Fatalf("%s twice in the state", e.Host)
			}
			seen[e.Host] = true
		}
		hosts = append(hosts, part...)
	}
	if len(hosts) != total {
		t.Fatalf("the state's parts hold %d hosts, its total says %d", len(hosts), total)
	}
	return hosts
}

// TestWebSocketStateInParts: the state of a fleet larger than StatePart
// comes in bounded parts that hold every host once, by name, and the
// updates come after the last part, none missed.
func TestWebSocketStateInParts(t *testing.T) {
	const n = 2*StatePart + 345
	f := fleet.New(fleet.Config{HistorySize: 2, MaxHosts: 2 * n, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{SendBuffer: 4 * n}, discard) // no tick: the state holds every snapshot applied before
	url := serveHub(t, h)
	name := func(i int) string { return fmt.Sprintf("host-%05d", i) }
	for i := range n {
		s := snap(name(i), "i", 1)
		f.Apply(s, body(s), "", time.Now())
	}
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	// Updates while the state is taken and written in parts: each host's
	// is in the state or after its last part, never both.
	for i := range n {
		s := snap(name(i), "i", 2)
		f.Apply(s, body(s), "", time.Now())
	}
	hosts := readState(t, c)
	if len(hosts) != n {
		t.Fatalf("the state holds %d hosts, want %d", len(hosts), n)
	}
	for i := 1; i < n; i++ {
		if hosts[i-1].Host >= hosts[i].Host {
			t.Fatalf("the state's host %d is %s, after %s: want them by name", i, hosts[i].Host, hosts[i-1].Host)
		}
	}
	seq := map[string]uint64{}
	done := 0
	for _, e := range hosts {
		seq[e.Host] = *e.Figures.Seq
		if seq[e.Host] == 2 {
			done++
		}
	}
	for done < n {
		var u UpdateFrame
		if err := c.ReadJSON(&u); err != nil {
			t.Fatalf("after %d hosts at seq 2: %v", done, err)
		}
		if u.Type != "update" {
			t.Fatalf("a %q frame after the state's last part", u.Type)
		}
		for _, raw := range u.Hosts {
			var e HostEntry
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			if got := *e.Figures.Seq; got != 2 || seq[e.Host] != 1 {
				t.Fatalf("%s: seq %d after %d (the state's or an update's)", e.Host, got, seq[e.Host])
			}
			seq[e.Host] = 2
			done++
		}
	}
	for i := range n {
		if seq[name(i)] != 2 {
			t.Fatalf("%s: never updated to seq 2 after the state", name(i))
		}
	}
}

// TestWebSocketWatch: a dashboard that sends a watch message gets its
// host's complete entry at once, then with each change of that host;
// anything else it sends is ignored and counted, and the connection stays.
func TestWebSocketWatch(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 10, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{SendBuffer: 100}, discard)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h.ServeWS(rw, r, []byte(`{}`))
	}))
	t.Cleanup(func() { h.Close(); srv.Close() })
	for _, host := range []string{"a", "b"} {
		s := snap(host, "i", 1)
		f.Apply(s, body(s), "", time.Now())
	}
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var state StateFrame
	if err := c.ReadJSON(&state); err != nil || len(state.Hosts) != 2 || state.Hosts[0].Snapshot != nil {
		t.Fatalf("state %+v, %v", state, err)
	}
	for _, bad := range []string{`not json`, `{"type":"subscribe","host":"a"}`, `{"type":"watch","host":5}`,
		`{"type":"watch","host":"` + strings.Repeat("x", 254) + `"}`} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(bad)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WriteJSON(map[string]any{"type": "watch", "host": "a"}); err != nil {
		t.Fatal(err)
	}
	read := func() UpdateFrame {
		t.Helper()
		var u UpdateFrame
		if err := c.ReadJSON(&u); err != nil || u.Type != "update" {
			t.Fatalf("frame %+v, %v", u, err)
		}
		return u
	}
	if u := read(); len(u.Hosts) != 0 || u.Watched == nil || u.Watched.Host != "a" || u.Watched.Snapshot == nil {
		t.Fatalf("the answer to a watch: %+v", u)
	}
	// hosts in a frame, and whether it carried the watched entry.
	hostsOf := func(u UpdateFrame) string {
		var names []string
		for _, raw := range u.Hosts {
			var e HostEntry
			decodeStrict(t, raw, &e)
			names = append(names, e.Host)
		}
		return strings.Join(names, ",")
	}
	for _, host := range []string{"b", "a"} {
		s := snap(host, "i", 2)
		f.Apply(s, body(s), "", time.Now())
	}
	// b's change alone comes without "watched"; the frame with a's change
	// (perhaps b's too) with a's complete entry.
	for {
		u := read()
		names := hostsOf(u)
		if names == "b" {
			if u.Watched != nil {
				t.Fatalf("b changed: %+v", u)
			}
			continue
		}
		if (names != "a" && names != "b,a") || u.Watched == nil || !strings.Contains(string(u.Watched.Snapshot), `"seq":2`) {
			t.Fatalf("a changed: %s %+v", names, u.Watched)
		}
		break
	}
	if got := h.Stats().RefusedMessages; got != 4 {
		t.Fatalf("refused_messages_total %d, want 4", got)
	}
	// Stop watching: a's changes come lean only.
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"watch","host":null}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the reader takes it (it answers nothing)
	s := snap("a", "i", 3)
	f.Apply(s, body(s), "", time.Now())
	if u := read(); hostsOf(u) != "a" || u.Watched != nil {
		t.Fatalf("after unwatching: %+v", u)
	}
}
