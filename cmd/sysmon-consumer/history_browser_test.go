package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	amqp "github.com/rabbitmq/amqp091-go"
)

// TestHistoryBrowser: the consumer with a history store, six days of a
// host's snapshots published with their past sampling times (and a day
// without any), and the dashboard in a real headless Chromium: the range
// picker keeps its range in the URL and draws aggregates with their min/max
// band and the day without data as a gap; a drag across a chart fetches
// finer data; the host's events and the fleet's events page list what
// happened; the overview's tiles get their CPU sparkline in one request.
func TestHistoryBrowser(t *testing.T) {
	requireChromium(t)
	conn := dialBroker(t)
	exchange, ch := testExchange(t, conn, "history")
	cfg, base := consumerEnv(t, exchange, "STATE_DIR="+t.TempDir()+"\n")
	startLogged(t, cfg, base)

	publish := func(host string, seq uint64, at time.Time, cpu float64) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"timestamp": at.Format("2006-01-02T15:04:05.000000"), "cpu_percent": cpu,
			"memory": map[string]any{"total": 8 << 30, "available": 4 << 30, "percent": 40}, "disk": map[string]any{"total": 0, "used": 0, "free": 0},
			"platform": "Linux", "platform_release": "6.1", "processor": "", "schema": 1, "host": host, "instance_id": host + "-i1",
			"seq": seq, "time": at.UTC().Format(time.RFC3339Nano), "interval_seconds": 1,
			"filesystems": []any{map[string]any{"mountpoint": "/", "device": "/dev/sda1", "fstype": "ext4", "total": 100, "used": 30, "free": 70, "percent": 30}}})
		if err := ch.Publish(exchange, "", false, false, amqp.Publishing{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	// db-01: every 5 minutes for six days but not on the third (an
	// outage), every sixth sample a spike of 90 in a quiet 10: the
	// aggregates' max shows the spikes the mean smooths.
	now := time.Now()
	seq := uint64(0)
	for at := now.Add(-6 * 24 * time.Hour); at.Before(now.Add(-2 * time.Minute)); at = at.Add(5 * time.Minute) {
		if age := now.Sub(at); age > 3*24*time.Hour && age < 4*24*time.Hour {
			continue
		}
		seq++
		cpu := 10.0
		if seq%6 == 0 {
			cpu = 90
		}
		publish("db-01", seq, at, cpu)
	}
	for i := range 5 {
		seq++
		publish("db-01", seq, now.Add(time.Duration(i-5)*time.Second), 20)
		publish("web-01", uint64(i+1), now.Add(time.Duration(i-5)*time.Second), 55)
	}
	q := url.Values{"host": {"db-01"}, "from": {fmt.Sprint(now.Add(-7 * 24 * time.Hour).Unix())}, "to": {fmt.Sprint(now.Unix())}}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var s struct {
			T       []int64 `json:"t"`
			Figures map[string]struct {
				Max []*float64 `json:"max"`
			} `json:"figures"`
		}
		resp, err := http.Get(base + "/api/history?" + q.Encode())
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&s)
			resp.Body.Close()
		}
		if n := 0; len(s.Figures["cpu"].Max) > 0 {
			for _, v := range s.Figures["cpu"].Max {
				if v != nil {
					n++
				}
			}
			// All five days filed (about 650 of the 7-day query's 900
			// steps), not only the first: on a busy machine the page
			// would otherwise draw a chart still filling in.
			if n > 600 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 7-day history of db-01 was not filed within 90 s (%d points)", len(s.T))
		}
		time.Sleep(500 * time.Millisecond)
	}

	b := startBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/#/host/db-01?range=7d")); err != nil {
		t.Fatal(err)
	}
	type chart struct {
		Points, Bands, Gaps int
		Hash, Current, Tier string
		Step                float64
		LiveHidden          bool
		Canvas              bool
	}
	const chartJS = `(() => { const c = document.querySelector('#hist [data-chart="cpu"]'); const cur = document.querySelector('#hv-range [aria-current="true"]');
	  return { Points: c ? +c.getAttribute('data-points') : -1, Bands: c ? +c.getAttribute('data-bands') : -1, Gaps: c ? +c.getAttribute('data-gaps') : -1,
	    Hash: location.hash, Current: cur ? cur.textContent : '', Tier: document.getElementById('hist').getAttribute('data-tier') || '',
	    Step: +(document.getElementById('hist').getAttribute('data-step') || 0), LiveHidden: document.getElementById('charts').hidden,
	    Canvas: !!(c && c.querySelector('canvas')) }; })()`
	c := waitFor(t, b, "the 7-day chart of db-01 with its band", 20*time.Second, chartJS, func(c chart) bool { return c.Points > 100 && c.Canvas })
	if c.Bands != 1 || c.Gaps != 1 || c.Current != "7d" || c.Hash != "#/host/db-01?range=7d" || !c.LiveHidden || c.Step <= 0 {
		t.Fatalf("7-day view: %+v; want a band, the missing day as the one gap, 7d current and kept in the URL, live charts hidden, aggregates", c)
	}
	// The band is min..max: its max holds the spikes of 90 that the mean
	// of each bucket smooths.
	if shot := os.Getenv("SYSMON_SCREENSHOT_DIR"); shot != "" {
		screenshot(t, b, shot, "history.png")
	}

	// The range picker, the history charts and the events meet WCAG 2.2
	// AA like the rest of the page.
	for _, dark := range []bool{false, true} {
		setDark(t, b, dark)
		runAxe(t, b, "host view over 7 days ("+map[bool]string{false: "light", true: "dark"}[dark]+")")
	}
	setDark(t, b, false)

	// Drag across the middle of the CPU chart: finer data for that span.
	box := eval[[]float64](t, b, `(() => { const r = document.querySelector('#hist [data-chart="cpu"] .u-over').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`)
	x0, x1, y := box[0]+box[2]*0.70, box[0]+box[2]*0.78, box[1]+box[3]/2
	if err := chromedp.Do(b.ctx, chromedp.DragAndDropXY(x0, y, x1, y)); err != nil {
		t.Fatal(err)
	}
	z := waitFor(t, b, "the zoomed span fetched with a finer step", 20*time.Second, chartJS, func(z chart) bool {
		return strings.Contains(z.Hash, "from=") && z.Step > 0 && z.Step < c.Step && z.Points > 0
	})
	if !strings.Contains(z.Hash, "range=7d") || eval[bool](t, b, `!document.querySelector('#hv-range [data-zoom]')`) {
		t.Fatalf("zoomed view %+v: the URL keeps the range and the picker shows the span", z)
	}

	// The host's events: online (first snapshot).
	evJS := `[...document.querySelectorAll('#hv-events tbody tr')].map((r) => r.getAttribute('data-kind'))`
	waitFor(t, b, "db-01's online event", 10*time.Second, evJS, func(k []string) bool { return len(k) > 0 && k[len(k)-1] == "online" })

	// Back to live: app.js's charts again, and the URL without a range.
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#hv-range [data-range="live"]`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "the live charts", 10*time.Second, `document.getElementById('hist').hidden && !document.getElementById('charts').hidden && location.hash === '#/host/db-01'`, func(v bool) bool { return v })

	// The fleet's events page.
	eval[string](t, b, `location.hash = '#/events'`)
	hostsJS := `document.getElementById('eventsview').hidden || !document.getElementById('overview').hidden ? [] : [...new Set([...document.querySelectorAll('#ev-table tbody tr[data-kind="online"] td:nth-child(2)')].map((td) => td.textContent))].sort()`
	waitFor(t, b, "both hosts' online events on the events page", 10*time.Second, hostsJS, func(h []string) bool { return strings.Join(h, ",") == "db-01,web-01" })
	for _, dark := range []bool{false, true} {
		setDark(t, b, dark)
		runAxe(t, b, "events page ("+map[bool]string{false: "light", true: "dark"}[dark]+")")
	}
	setDark(t, b, false)

	// The overview: each tile's sparkline, both in one request.
	eval[string](t, b, `location.hash = '#/'`)
	sparkJS := `[...document.querySelectorAll('#tiles .tile')].map((t) => { const c = t.querySelector('svg.spark'); return t.getAttribute('data-host') + ':' + (c ? c.getAttribute('data-points') : 'none'); }).sort()`
	sp := waitFor(t, b, "a sparkline on each tile", 10*time.Second, sparkJS, func(s []string) bool {
		return len(s) == 2 && !strings.HasSuffix(s[0], ":none") && !strings.HasSuffix(s[0], ":0") && !strings.HasSuffix(s[1], ":none") && !strings.HasSuffix(s[1], ":0")
	})
	if n := eval[int](t, b, `performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/sparklines')).length`); n != 1 {
		t.Errorf("%d sparkline requests for 2 tiles (%v), want 1", n, sp)
	}
	if p := b.problems(t); len(p) > 0 {
		t.Fatalf("console errors or CSP violations:\n%s", strings.Join(p, "\n"))
	}
}

// TestHistoryBrowserWithoutStore: a consumer without STATE_DIR keeps no
// history; the page does not offer ranges, says why where the events would
// be, and asks nothing it cannot answer (no 404 in the console).
func TestHistoryBrowserWithoutStore(t *testing.T) {
	requireChromium(t)
	conn := dialBroker(t)
	id, ch := testExchange(t, conn, "nohistory")
	cfg, base := consumerEnv(t, id, "STATE_DIR=\n")
	_, logs := startLogged(t, cfg, base)
	if !strings.Contains(logs.String(), "no history: STATE_DIR is empty") {
		t.Errorf("the consumer does not say at start that it keeps no history:\n%s", logs.String())
	}
	body, _ := json.Marshal(map[string]any{"timestamp": "t", "cpu_percent": 5, "memory": map[string]any{"total": 1, "available": 1, "percent": 1},
		"disk": map[string]any{"total": 0, "used": 0, "free": 0}, "platform": "Linux", "platform_release": "", "processor": "",
		"host": "solo", "instance_id": "i", "seq": 1, "interval_seconds": 1})
	if err := ch.Publish(id, "", false, false, amqp.Publishing{Body: body}); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/#/host/solo?range=7d")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "live charts, no range picker, the reason where the events would be", 10*time.Second,
		`document.getElementById('hv-range').hidden && !document.getElementById('charts').hidden && location.hash === '#/host/solo' &&
		 document.getElementById('hv-events-note').textContent.includes('STATE_DIR is empty')`, func(v bool) bool { return v })
	eval[string](t, b, `location.hash = '#/'`)
	waitFor(t, b, "the tile", 10*time.Second, `document.querySelectorAll('#tiles .tile').length`, func(n int) bool { return n == 1 })
	time.Sleep(500 * time.Millisecond) // a sparkline request would be sent by now
	if n := eval[int](t, b, `performance.getEntriesByType('resource').filter((e) => /api\/(sparklines|events|history)/.test(e.name)).length`); n != 0 {
		t.Errorf("%d history requests to a consumer without history", n)
	}
	if p := b.problems(t); len(p) > 0 {
		t.Fatalf("console errors or CSP violations:\n%s", strings.Join(p, "\n"))
	}
}
