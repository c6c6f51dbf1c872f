package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
)

// TestDashboardAppliesAFrameInOrder: a frame that catches up with several
// ticks may hold a host's entry and then its removal, or its removal and
// then a new entry (internal/hub: a dashboard that fell behind); the page
// ends as the frame's order says, though its Web Worker (stream.js) passes
// removals, rows and whole entries on separately. The frames come from a
// scripted WebSocket server, the page from the files the consumer embeds.
func TestDashboardAppliesAFrameInOrder(t *testing.T) {
	requireChromium(t)
	now := time.Now().UTC()
	entry := func(host, status string, seq int) string {
		return fmt.Sprintf(`{"host":%q,"legacy":false,"last_seen":%q,"status":%q,"interval_seconds":1,"goodbye":false,`+
			`"figures":{"cpu":%d,"mem":20,"load1":0.5,"cores":4,"seq":%d,"disk":30,"disk_mount":"/","missing":[],`+
			`"temp":null,"temp_sensor":"","temp_level":"ok","platform":"Linux","platform_release":"6.1","processor":"x86_64",`+
			`"agent_version":"test","sampled_at":%q}}`, host, now.Format(time.RFC3339Nano), status, 10+seq, seq, now.Format(time.RFC3339))
	}
	removed := func(host string) string { return fmt.Sprintf(`{"host":%q,"removed":true}`, host) }
	frames := []string{
		`{"type":"state","server_time":"` + now.Format(time.RFC3339Nano) + `","config":{},"hosts":[` +
			entry("alpha", "live", 1) + `,` + entry("bravo", "live", 1) + `,` + entry("charlie", "live", 1) + `]}`,
		// alpha: an entry that goes whole (its status changed), then its removal.
		// bravo: a row (only numbers changed), then its removal.
		// charlie: removed, then filed again.
		`{"type":"update","hosts":[` + entry("alpha", "stale", 2) + `,` + entry("bravo", "live", 2) + `,` +
			removed("charlie") + `,` + removed("alpha") + `,` + removed("bravo") + `,` + entry("charlie", "live", 1) + `]}`,
	}
	next := make(chan struct{})
	srv := scriptedServer(t, onCue(frames, next))

	b := startBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	tiles := `Array.from(document.querySelectorAll('#tiles .tile[data-host]'), (e) => e.getAttribute('data-host')).sort().join(',')`
	waitFor(t, b, "the state's three hosts", 20*time.Second, tiles, func(s string) bool { return s == "alpha,bravo,charlie" })
	close(next)
	got := waitFor(t, b, "the update applied", 20*time.Second,
		`document.getElementById('count-hosts').textContent + ' ' + `+tiles, func(s string) bool { return s == "1 charlie" })
	// And it stays so: nothing brings a removed host back.
	time.Sleep(500 * time.Millisecond)
	if s := eval[string](t, b, `document.getElementById('count-hosts').textContent + ' ' + `+tiles); s != got {
		t.Fatalf("after the update the page showed %q, then %q", got, s)
	}
}

// TestDashboardTakesTheStateInParts: a big fleet's state comes in parts
// (internal/hub.StatePart). The page shows the hosts of each part as it
// comes, with their figures, says that more are on their way, and only
// once the last part is in drops the hosts it knew from before a
// reconnection that the new state leaves out.
func TestDashboardTakesTheStateInParts(t *testing.T) {
	requireChromium(t)
	now := time.Now().UTC()
	entry := func(host string, cpu int) string { return stateEntry(host, cpu, now) }
	head := `{"type":"state","server_time":"` + now.Format(time.RFC3339Nano) + `","config":{},`
	conns := [][]string{
		{head + `"total":3,"hosts":[` + entry("alpha", 11) + `,` + entry("bravo", 12) + `,` + entry("charlie", 13) + `]}`},
		{
			head + `"total":3,"hosts":[` + entry("delta", 14) + `],"more":true}`,
			`{"type":"state_part","hosts":[` + entry("alpha", 15) + `],"more":true}`,
			`{"type":"state_part","hosts":[` + entry("echo", 77) + `]}`,
		},
	}
	next := make(chan struct{})
	conn := 0
	srv := scriptedServer(t, func(c *websocket.Conn, r *http.Request) {
		last := conn >= len(conns)-1
		frames := conns[min(conn, len(conns)-1)]
		conn++
		for i, f := range frames {
			if c.WriteMessage(websocket.TextMessage, []byte(f)) != nil {
				return
			}
			if last && i == len(frames)-1 {
				break
			}
			select { // the next frame (or the end of the connection) when the test says
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
		if last {
			<-r.Context().Done()
		}
	})

	b := startBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	tiles := `Array.from(document.querySelectorAll('#tiles .tile[data-host]'), (e) => e.getAttribute('data-host')).sort().join(',')`
	shown := `document.getElementById('count-hosts').textContent + ' ' + ` + tiles + ` + ' | ' + document.getElementById('shown').textContent`
	waitFor(t, b, "the first connection's hosts", 20*time.Second, shown, func(s string) bool { return s == "3 alpha,bravo,charlie | " })
	next <- struct{}{} // the first connection ends: the page reconnects to a state in parts
	waitFor(t, b, "the first part beside the hosts known before", 20*time.Second, shown,
		func(s string) bool { return s == "4 alpha,bravo,charlie,delta | receiving the fleet: 1 of 3 hosts" })
	next <- struct{}{}
	waitFor(t, b, "the second part", 20*time.Second, shown,
		func(s string) bool { return s == "4 alpha,bravo,charlie,delta | receiving the fleet: 2 of 3 hosts" })
	next <- struct{}{}
	waitFor(t, b, "the last part, and the hosts it leaves out gone", 20*time.Second, shown,
		func(s string) bool { return s == "3 alpha,delta,echo | " })
	// A part's figures are its own, not another row's.
	cpu := `['alpha', 'delta', 'echo'].map((h) => document.querySelector('#tiles .tile[data-host="' + h + '"]').textContent.match(/CPU(\d+)/)[1]).join(',')`
	if got := eval[string](t, b, cpu); got != "15,14,77" {
		t.Fatalf("CPU on the tiles of alpha, delta, echo: %s, want 15,14,77 (%s)", got, eval[string](t, b, `document.querySelector('#tiles .tile[data-host="echo"]').textContent`))
	}
}

// stateEntry is a live host's entry of a state, as the consumer sends it.
func stateEntry(host string, cpu int, now time.Time) string {
	return fmt.Sprintf(`{"host":%q,"legacy":false,"last_seen":%q,"status":"live","interval_seconds":1,"goodbye":false,`+
		`"figures":{"cpu":%d,"mem":20,"load1":0.5,"cores":4,"seq":1,"disk":30,"disk_mount":"/","missing":[],`+
		`"temp":null,"temp_sensor":"","temp_level":"ok","platform":"Linux","platform_release":"6.1","processor":"x86_64",`+
		`"agent_version":"test","sampled_at":%q}}`, host, now.Format(time.RFC3339Nano), cpu, now.Format(time.RFC3339))
}

// TestMapCellsWaitForTheLastPart: while a state comes in parts the status
// map draws every host received on its canvas, and its cells (what the
// keyboard, hover and clicks reach) wait for the last part: each part
// resizes the map (and, sorted other than by name, reorders it), and
// cells grown for one part were moved or taken out at the next (at 10,000 hosts the paints up to the map's first render
// took 150 to 780 ms, 30 to 60 ms with the cells waiting, in DevTools
// traces). Once the last part is in, every host has a cell.
func TestMapCellsWaitForTheLastPart(t *testing.T) {
	requireChromium(t)
	now := time.Now().UTC()
	part := func(from, to int) string {
		var es []string
		for i := from; i < to; i++ {
			es = append(es, stateEntry(fmt.Sprintf("h%04d", i), i%90, now))
		}
		return strings.Join(es, ",")
	}
	frames := []string{
		`{"type":"state","server_time":"` + now.Format(time.RFC3339Nano) + `","config":{},"total":2000,"hosts":[` + part(0, 1200) + `],"more":true}`,
		`{"type":"state_part","hosts":[` + part(1200, 2000) + `]}`,
	}
	next := make(chan struct{})
	srv := scriptedServer(t, onCue(frames, next))

	b := startBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/#/map")); err != nil {
		t.Fatal(err)
	}
	counts := `document.getElementById('count-hosts').textContent + ' ' + document.querySelectorAll('#map-view .cell').length`
	waitFor(t, b, "the first part on the map", 20*time.Second, counts, func(s string) bool { return strings.HasPrefix(s, "1200 ") })
	// A second for cells to grow, if they did.
	eval[bool](t, b, `new Promise((done) => setTimeout(() => done(true), 1000))`, chromedp.EvalAwaitPromise)
	got := eval[string](t, b, counts)
	if cells, _ := strconv.Atoi(strings.TrimPrefix(got, "1200 ")); cells == 0 || cells >= 1200 {
		t.Errorf("hosts and cells while the state's last part is still to come: %s; want every host counted, the first cells made and the others waiting", got)
	}
	next <- struct{}{}
	waitFor(t, b, "a cell for every host once the last part is in", 20*time.Second, counts, func(s string) bool { return s == "2000 2000" })
}

// onCue is a script for scriptedServer: the first frame at once, each
// other one when the test receives from next.
func onCue(frames []string, next <-chan struct{}) func(c *websocket.Conn, r *http.Request) {
	return func(c *websocket.Conn, r *http.Request) {
		for i, f := range frames {
			if i > 0 {
				select {
				case <-next:
				case <-r.Context().Done():
					return
				}
			}
			if c.WriteMessage(websocket.TextMessage, []byte(f)) != nil {
				return
			}
		}
		<-r.Context().Done()
	}
}

// scriptedServer serves the page from the files the consumer embeds, and
// GET /ws from script: each connection upgraded and handed to it (the
// watch messages the page sends are read and dropped), closed when it
// returns.
func scriptedServer(t *testing.T, script func(c *websocket.Conn, r *http.Request)) *httptest.Server {
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir("../../internal/web/static")))
	mux.HandleFunc("/ws", func(rw http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(rw, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		go func() { // the watch messages
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
		script(c, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}
