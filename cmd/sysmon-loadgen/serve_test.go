package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestServeFeedsTheDashboard: serve's simulated hosts reach the consumer's
// fleet and its dashboard stream, every host in the state and again in the
// updates, at the rate asked for, without a broker.
func TestServeFeedsTheDashboard(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("LOG_LEVEL", "warning")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"serve", "-hosts", "50", "-interval", "200ms", "-duration", "3s", "-listen", addr,
			"-prefix", "sim-", "-json", "-report", "0"}, &stdout, &stderr)
	}()

	// The fleet knows every host.
	deadline := time.Now().Add(3 * time.Second)
	for {
		var st struct {
			Fleet struct{ Hosts, Live int }
		}
		r, err := http.Get("http://" + addr + "/api/status")
		if err == nil {
			err = json.NewDecoder(r.Body).Decode(&st)
			r.Body.Close()
		}
		if err == nil && st.Fleet.Hosts == 50 && st.Fleet.Live == 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fleet after 3 s: %+v (%v); stderr: %s", st.Fleet, err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A dashboard gets them all in the state (the hub's, which takes in
	// what the fleet filed at its ticks), then each again in updates.
	var conn *websocket.Conn
	for {
		conn, _, err = websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		state, err := readState(conn)
		if err != nil {
			t.Fatal(err)
		}
		inState := map[string]bool{}
		eachHost(state, func(name []byte) { inState[string(name)] = true })
		if len(inState) == 50 && inState["sim-00001"] && inState["sim-00050"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the state has %d hosts after 3 s, want sim-00001 to sim-00050", len(inState))
		}
		conn.Close()
		time.Sleep(100 * time.Millisecond)
	}
	defer conn.Close()
	updated := map[string]bool{}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for len(updated) < 50 {
		_, b, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("updates: %d of 50 hosts in 2 s: %v", len(updated), err)
		}
		eachHost(b, func(name []byte) { updated[string(name)] = true })
	}

	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d; stderr: %s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after -duration")
	}
	var sum PublishSummary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("summary %q: %v", stdout.String(), err)
	}
	// 50 hosts every 200 ms for 3 s: 250 a second.
	if sum.Hosts != 50 || sum.PerSecond < 200 || sum.PerSecond > 275 || sum.TargetPerSecond != 250 {
		t.Fatalf("summary %+v, want about 250 snapshots a second", sum)
	}
	if !strings.Contains(stderr.String(), "http://"+addr+"/") {
		t.Fatalf("stderr does not say where the dashboard is: %s", stderr.String())
	}
}
