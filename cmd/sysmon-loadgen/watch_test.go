package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestCoverageFindsAHostNotReceivedInTime: -every counts a client complete
// only if each host of its state frame came at least that often, the last
// gap (to the end) included, and hosts unknown to the state are ignored.
func TestCoverageFindsAHostNotReceivedInTime(t *testing.T) {
	state := []byte(`{"type":"state","hosts":[{"host":"a","legacy":false},{"host":"b","legacy":false}]}`)
	t0 := time.Now()
	frame := func(hosts ...string) []byte {
		b := []byte(`{"type":"update","hosts":[`)
		for i, h := range hosts {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"host":"`+h+`","point":{}}`...)
		}
		return append(b, "]}"...)
	}
	every := time.Second
	run := func(frames map[time.Duration][]string, end time.Duration) (time.Duration, uint64) {
		w := &watcher{every: every}
		c := w.coverage(state, t0)
		for at := time.Duration(0); at <= end; at += 250 * time.Millisecond {
			if hosts, ok := frames[at]; ok && hosts == nil { // the state frame, received late
				c.frame(state, t0.Add(at), every)
				continue
			}
			if hosts, ok := frames[at]; ok {
				c.frame(frame(hosts...), t0.Add(at), every)
			}
		}
		return c.finish(t0.Add(end), every)
	}
	ms := time.Millisecond
	gap, late := run(map[time.Duration][]string{
		750 * ms: {"a", "b", "z"}, 1500 * ms: {"a"}, 1750 * ms: {"b"}, 2500 * ms: {"a", "b"}}, 3000*ms)
	if late != 0 || gap != 1000*ms {
		t.Fatalf("every host within 1 s: longest gap %v, %d late; want 1s, 0", gap, late)
	}
	gap, late = run(map[time.Duration][]string{750 * ms: {"a", "b"}, 1500 * ms: {"a"}, 2500 * ms: {"a", "b"}}, 3000*ms)
	if late != 1 || gap != 1750*ms {
		t.Fatalf("b missing for 1.75 s: longest gap %v, %d late; want 1.75s, 1", gap, late)
	}
	gap, late = run(map[time.Duration][]string{750 * ms: {"a", "b"}}, 3000*ms)
	if late != 2 || gap != 2250*ms {
		t.Fatalf("nothing after 0.75 s: longest gap %v, %d late; want 2.25s, 2 (the end counts)", gap, late)
	}
	gap, late = run(map[time.Duration][]string{1500 * ms: nil, 2250 * ms: {"a", "b"}}, 3000*ms)
	if late != 2 || gap != 1500*ms {
		t.Fatalf("state received 1.5 s late: longest gap %v, %d late; want 1.5s, 2 (a late client missed its hosts)", gap, late)
	}
}

// TestReadStateTakesEveryPart: the state is read up to its last part (the
// frame without "more"), and not a frame further.
func TestReadStateTakesEveryPart(t *testing.T) {
	frames := []string{
		`{"type":"state","total":3,"hosts":[{"host":"a"}],"more":true}`,
		`{"type":"state_part","hosts":[{"host":"b"}],"more":true}`,
		`{"type":"state_part","hosts":[{"host":"c"}]}`,
		`{"type":"update","hosts":[{"host":"a"}]}`,
	}
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(rw, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for _, f := range frames {
			if c.WriteMessage(websocket.TextMessage, []byte(f)) != nil {
				return
			}
		}
		c.ReadMessage() // until the client goes
	}))
	defer srv.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	state, err := readState(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := frames[0] + frames[1] + frames[2]; string(state) != want {
		t.Fatalf("state %s, want the three parts %s", state, want)
	}
	if _, next, err := c.ReadMessage(); err != nil || string(next) != frames[3] {
		t.Fatalf("next frame %s (%v), want the update", next, err)
	}
}
