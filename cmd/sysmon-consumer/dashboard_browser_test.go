package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// prototypeSnapshot is shared/fixtures/prototype-snapshot.json: a real message
// of the prototype publisher (no host name, the first eight keys only).
const prototypeSnapshot = `{"timestamp":"2026-11-27T03:12:27.663874","cpu_percent":1.0,"memory":{"total":25276510208,"available":24783966208,"percent":1.9},"disk":{"total":270553174016,"used":12690640896,"free":85102653440},"platform":"Linux","platform_release":"6.18.44-fc-v657","processor":""}`

// Strings a hostile publisher could send; each would run script if the page
// inserted it as HTML.
const (
	xssHost      = `<img src=x onerror="window.__xss='host'">`
	xssProcessor = `</script><script>window.__xss='processor'</script>`
	xssPlatform  = `<b>bold</b><svg onload="window.__xss='platform'">`
	xssMount     = `/<iframe src="javascript:window.__xss='mount'">`
	xssIface     = `eth0<script>window.__xss='iface'</script>`
)

// tile is what one overview tile shows (read by tilesJS).
type tile struct {
	Host   string `json:"host"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Seq    string `json:"seq"`
	Legacy bool   `json:"legacy"`
	CPU    string `json:"cpu"`
	Mem    string `json:"mem"`
	Disk   string `json:"disk"`
	Load   string `json:"load"`
	Rx     string `json:"rx"`
	Tx     string `json:"tx"`
	Seen   string `json:"seen"`
}

const tilesJS = `[...document.querySelectorAll('#tiles .tile, #down-tiles .tile')].map((el) => {
  const q = (k) => { const e = el.querySelector('[data-metric="' + k + '"]'); return e ? e.textContent : ''; };
  const lg = el.querySelector('.t-legacy');
  return { host: el.getAttribute('data-host'), name: el.querySelector('.t-name').getAttribute('title'),
    status: el.getAttribute('data-status'), seq: el.getAttribute('data-seq') || '',
    legacy: !!lg && !lg.hidden, cpu: q('cpu'), mem: q('mem'), disk: q('disk'), load: q('load'),
    rx: q('rx'), tx: q('tx'), seen: q('seen') };
})`

func tilesByHost(ts []tile) map[string]tile {
	m := map[string]tile{}
	for _, t := range ts {
		m[t.Host] = t
	}
	return m
}

// statusLogJS records every change of a tile's data-status with its time, so
// the stale → offline sequence can be checked after the other steps.
const statusLogJS = `(() => {
  window.__statusLog = [];
  new MutationObserver((records) => {
    for (const r of records) {
      const el = r.target;
      if (el.classList && el.classList.contains('tile')) {
        window.__statusLog.push({ host: el.getAttribute('data-host'), status: el.getAttribute('data-status'), t: Date.now() });
      }
    }
  }).observe(document.getElementById('tiles'), { subtree: true, attributes: true, attributeFilter: ['data-status'] });
  return true;
})()`

type statusChange struct {
	Host   string  `json:"host"`
	Status string  `json:"status"`
	T      float64 `json:"t"`
}

// TestDashboardBrowser runs the consumer on the real broker, simulated
// publishers, and the dashboard in a real headless Chromium.
func TestDashboardBrowser(t *testing.T) {
	requireChromium(t)
	conn := dialBroker(t)
	started := time.Now()

	shots := os.Getenv("SYSMON_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// A fanout exchange and a queue of this test only.
	exchange, _ := testExchange(t, conn, "dashboard")
	// Floors of 5 s and 12 s (10 s and 60 s by default): above 3 and 10
	// intervals of the simulated 1 s publishers, short enough for a test.
	cfg, base := consumerEnv(t, exchange, "LOG_LEVEL=debug\nHOST_STALE_MIN=5s\nHOST_OFFLINE_MIN=12s\n")
	consumer, logs := startLogged(t, cfg, base)

	// Three hosts publish every 250 ms (interval_seconds 1, so a silent host is
	// stale after 3 s and offline after 10 s, were it not for the floors: 5 s
	// and 12 s).
	s := newSim(t, conn, exchange, 250*time.Millisecond)
	simCtx, stopSim := context.WithCancel(context.Background())
	simDone := make(chan struct{})
	go func() { defer close(simDone); s.run(simCtx) }()
	t.Cleanup(func() { stopSim(); <-simDone })
	s.add(&simHost{name: "web-01", cpuBase: 18, memBase: 41.2, rxBase: 1_200_000, platform: "Linux",
		processor: "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", ifName: "eth0",
		disks: map[string]float64{"/": 13.2, "/data": 71.0}})
	s.add(&simHost{name: "web-02", cpuBase: 86, memBase: 63.5, rxBase: 4_800_000, platform: "Linux",
		processor: "AMD EPYC 7763 64-Core Processor", ifName: "ens3",
		disks: map[string]float64{"/": 48.6}})
	s.add(&simHost{name: "db-01", cpuBase: 35, memBase: 96.4, rxBase: 350_000, platform: "Linux",
		processor: "Intel(R) Xeon(R) Gold 6338", ifName: "eth0",
		disks: map[string]float64{"/": 22.4, "/var/lib/postgresql": 88.3}})

	waitAPI := func(what string, want func([]string) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			names, err := apiHosts(base)
			if err == nil && want(names) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: /api/hosts lists %v (err %v)", what, names, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitAPI("three hosts known to the consumer", func(n []string) bool { return len(n) == 3 })
	time.Sleep(1500 * time.Millisecond) // some history for the charts

	b := startBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("open the dashboard: %v", err)
	}
	eval[bool](t, b, `window.__loadedOnce = true`)

	checkTile := func(tl tile) {
		t.Helper()
		var seq uint64
		if _, err := fmt.Sscan(tl.Seq, &seq); err != nil {
			t.Errorf("tile %s: data-seq %q", tl.Host, tl.Seq)
			return
		}
		body, ok := s.body(tl.Host, seq)
		if !ok {
			t.Errorf("tile %s shows seq %d, which was never published", tl.Host, seq)
			return
		}
		var snap struct {
			CPU    float64 `json:"cpu_percent"`
			Memory struct {
				Percent float64 `json:"percent"`
			} `json:"memory"`
			Load struct {
				Load1 float64 `json:"load1"`
			} `json:"load"`
			Filesystems []struct {
				Percent float64 `json:"percent"`
			} `json:"filesystems"`
			Network struct {
				Rx float64 `json:"rx_bytes_per_sec"`
				Tx float64 `json:"tx_bytes_per_sec"`
			} `json:"network"`
		}
		if err := json.Unmarshal(body, &snap); err != nil {
			t.Fatal(err)
		}
		fullest := 0.0
		for _, f := range snap.Filesystems {
			fullest = max(fullest, f.Percent)
		}
		want := tile{Host: tl.Host, Name: tl.Host, Status: "live", Seq: tl.Seq,
			CPU: fmtPct(snap.CPU), Mem: fmtPct(snap.Memory.Percent), Disk: fmtPct(fullest),
			Load: fmtLoad(snap.Load.Load1), Rx: fmtRate(snap.Network.Rx), Tx: fmtRate(snap.Network.Tx), Seen: tl.Seen}
		if tl != want {
			t.Errorf("tile %s:\n got %+v\nwant %+v (snapshot seq %d: %s)", tl.Host, tl, want, seq, body)
		}
	}

	t.Run("overview shows the three hosts with their figures", func(t *testing.T) {
		ts := waitFor(t, b, "three live tiles", 10*time.Second, tilesJS, func(ts []tile) bool {
			if len(ts) != 3 {
				return false
			}
			for _, x := range ts {
				if x.Status != "live" || x.Seq == "" {
					return false
				}
			}
			return true
		})
		for _, tl := range ts {
			checkTile(tl)
		}
		if got := eval[string](t, b, `document.getElementById('conn').textContent`); got != "connected" {
			t.Errorf("#conn says %q, want connected", got)
		}
		counts := eval[[]string](t, b, `['hosts','live','stale','offline'].map((k) => document.getElementById('count-' + k).textContent)`)
		if strings.Join(counts, ",") != "3,3,0,0" {
			t.Errorf("counts hosts,live,stale,offline = %v, want 3,3,0,0", counts)
		}
		if n := eval[int](t, b, `document.querySelectorAll('.uplot, canvas').length`); n != 0 {
			t.Errorf("the overview has %d charts; charts belong to the host view only", n)
		}
		// The thresholds come from the consumer: db-01's memory is critical, web-02's CPU at least a warning.
		lv := eval[map[string]string](t, b, `Object.fromEntries([...document.querySelectorAll('#tiles .tile')].map((e) => [e.getAttribute('data-host'), e.getAttribute('data-level')]))`)
		if lv["db-01"] != "crit" || lv["web-02"] == "ok" || lv["web-01"] != "ok" {
			t.Errorf("tile levels %v: want db-01 crit (memory 96%%), web-02 warn or crit (CPU ~86%%), web-01 ok", lv)
		}
	})

	eval[bool](t, b, statusLogJS)
	s.silence("web-02")
	silencedAt := time.Now()

	t.Run("a fourth host appears without a reload", func(t *testing.T) {
		s.add(&simHost{name: "cache-01", cpuBase: 9, memBase: 55.0, rxBase: 2_500_000, platform: "Linux",
			processor: "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", ifName: "eth0", disks: map[string]float64{"/": 31.0}})
		ts := waitFor(t, b, "a tile for cache-01", 5*time.Second, tilesJS, func(ts []tile) bool {
			tl, ok := tilesByHost(ts)["cache-01"]
			return ok && tl.Seq != ""
		})
		checkTile(tilesByHost(ts)["cache-01"])
		if !eval[bool](t, b, `window.__loadedOnce === true`) {
			t.Error("the page was reloaded")
		}
	})

	t.Run("goodbye turns a host offline at once", func(t *testing.T) {
		s.goodbye("db-01")
		sent := time.Now()
		waitFor(t, b, "db-01 offline after its goodbye", 2500*time.Millisecond, tilesJS, func(ts []tile) bool {
			return tilesByHost(ts)["db-01"].Status == "offline"
		})
		// Stale would take 3 s and offline 10 s: this was the goodbye.
		if d := time.Since(sent); d > 2500*time.Millisecond {
			t.Errorf("db-01 went offline %v after its goodbye", d)
		}
		if seen := tilesByHost(eval[[]tile](t, b, tilesJS))["db-01"].Seen; !strings.Contains(seen, "goodbye") {
			t.Errorf("db-01's tile says %q; want it to mention the goodbye", seen)
		}
	})

	t.Run("a prototype-format message shows up as a tile", func(t *testing.T) {
		s.raw([]byte(prototypeSnapshot), "")
		ts := waitFor(t, b, "a tile for the prototype publisher", 5*time.Second, tilesJS, func(ts []tile) bool {
			_, ok := tilesByHost(ts)["prototype"]
			return ok
		})
		tl := tilesByHost(ts)["prototype"]
		if !tl.Legacy || tl.CPU != "1.0%" || tl.Mem != "1.9%" || tl.Disk != fmtPct(12690640896.0/270553174016*100) || tl.Status != "live" {
			t.Errorf("prototype tile %+v: want the prototype badge, live, CPU 1.0%%, memory 1.9%%, disk 4.7%%", tl)
		}
	})

	t.Run("a silent host turns stale, then offline", func(t *testing.T) {
		waitFor(t, b, "web-02 offline", time.Until(silencedAt.Add(16*time.Second)), tilesJS, func(ts []tile) bool {
			return tilesByHost(ts)["web-02"].Status == "offline"
		})
		log := eval[[]statusChange](t, b, `window.__statusLog.filter((c) => c.host === 'web-02')`)
		var seq []string
		for _, c := range log {
			seq = append(seq, c.Status)
		}
		if strings.Join(seq, ",") != "stale,offline" {
			t.Fatalf("web-02 went through %v, want stale then offline", seq)
		}
		silenced := float64(silencedAt.UnixMilli())
		// The page ages hosts by the consumer's rule, floors included: not
		// after 3 and 10 intervals (3 s and 10 s) of its own.
		if d := log[0].T - silenced; d < 4500 || d > 8000 {
			t.Errorf("web-02 turned stale %.0f ms after its last snapshot, want HOST_STALE_MIN (5 s)", d)
		}
		if d := log[1].T - silenced; d < 11500 || d > 15500 {
			t.Errorf("web-02 turned offline %.0f ms after its last snapshot, want HOST_OFFLINE_MIN (12 s)", d)
		}
		counts := eval[[]string](t, b, `['hosts','live','stale','offline'].map((k) => document.getElementById('count-' + k).textContent)`)
		if strings.Join(counts, ",") != "5,3,0,2" {
			t.Errorf("counts hosts,live,stale,offline = %v, want 5,3,0,2", counts)
		}
	})

	// A few more hosts, so that the overview looks like a fleet in the screenshot.
	for i, h := range []*simHost{
		{name: "api-01", cpuBase: 27, memBase: 58.3, rxBase: 3_100_000, disks: map[string]float64{"/": 36.1}},
		{name: "api-02", cpuBase: 31, memBase: 61.0, rxBase: 2_900_000, disks: map[string]float64{"/": 35.4}},
		{name: "build-01", cpuBase: 97, memBase: 71.9, rxBase: 900_000, disks: map[string]float64{"/": 62.0, "/var/cache": 91.2}},
		{name: "queue-01", cpuBase: 12, memBase: 33.3, rxBase: 5_600_000, disks: map[string]float64{"/": 18.9}},
		{name: "backup-01", cpuBase: 5, memBase: 21.7, rxBase: 150_000, disks: map[string]float64{"/": 40.0, "/srv/backup": 79.5}},
	} {
		h.platform, h.processor, h.ifName = "Linux", "Intel(R) Xeon(R) Gold 6338", fmt.Sprintf("ens%d", 3+i)
		s.add(h)
	}
	waitFor(t, b, "ten tiles", 5*time.Second, `document.querySelectorAll('.tiles .tile[data-seq]').length`, func(n int) bool { return n == 10 })
	time.Sleep(500 * time.Millisecond) // transitions end
	screenshot(t, b, shots, "overview.png")

	t.Run("host view shows charts and the last snapshot", func(t *testing.T) {
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#tiles a.tile[data-host="web-01"]`))); err != nil {
			t.Fatalf("click web-01's tile: %v", err)
		}
		if h := eval[string](t, b, `location.hash`); h != "#/host/web-01" {
			t.Errorf("location.hash = %q after clicking the tile, want #/host/web-01", h)
		}
		points := waitFor(t, b, "charts with data", 5*time.Second,
			`Object.fromEntries([...document.querySelectorAll('#charts .chart')].map((c) => [c.getAttribute('data-chart'), c.querySelector('canvas') ? +c.getAttribute('data-points') : 0]))`,
			func(m map[string]int) bool {
				for _, k := range []string{"cpu", "cores", "mem", "fs", "diskio", "net", "load"} {
					if m[k] < 5 {
						return false
					}
				}
				return true
			})
		t.Logf("points per chart: %v", points)

		// Snapshots faster than the tick (WS_TICK, 250 ms) reach the page
		// merged into one entry per tick, their points with it: the chart
		// gets every point the consumer filed meanwhile (a page that drew
		// only each entry's newest point would get about one a tick). The
		// consumer stamps points with its receipt time in milliseconds, so
		// two snapshots it happens to take in the same millisecond are one
		// point: count what it filed.
		cpuPoints := `+document.querySelector('#charts .chart[data-chart="cpu"]').getAttribute('data-points')`
		before := eval[int](t, b, cpuPoints)
		since := time.Now().UnixMilli()
		s.burst("web-01", 24, 3*time.Millisecond)
		time.Sleep(100 * time.Millisecond)
		filed := filedSince(t, base, "web-01", since)
		t.Logf("a burst of 24 snapshots: %d points filed (distinct times)", filed)
		waitFor(t, b, "every point of a burst on the CPU chart", 1500*time.Millisecond, cpuPoints,
			func(n int) bool { return n >= before+filed })

		// The raw JSON is the last snapshot web-01 published (it publishes on).
		raw := waitFor(t, b, "the raw JSON of a recent snapshot", 3*time.Second, `document.getElementById('raw').textContent`,
			func(raw string) bool {
				var v struct {
					Seq uint64 `json:"seq"`
				}
				return json.Unmarshal([]byte(raw), &v) == nil && v.Seq+3 >= s.last("web-01")
			})
		var shown map[string]any
		if err := json.Unmarshal([]byte(raw), &shown); err != nil {
			t.Fatalf("raw JSON: %v", err)
		}
		seq, _ := shown["seq"].(float64)
		body, ok := s.body("web-01", uint64(seq))
		if !ok {
			t.Fatalf("the raw JSON has seq %v, never published", shown["seq"])
		}
		var published map[string]any
		_ = json.Unmarshal(body, &published)
		var diffs []string
		jsonDiff("snapshot", published, shown, &diffs)
		if len(diffs) > 0 {
			t.Errorf("the raw JSON differs from the message web-01 published:\n  %s", strings.Join(diffs, "\n  "))
		}
		facts := eval[string](t, b, `document.getElementById('hv-facts').textContent`)
		if !strings.Contains(facts, "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz") || !strings.Contains(facts, "6.1.0-27-amd64") {
			t.Errorf("facts %q lack the processor or the kernel", facts)
		}
		// A taller window shows more charts in the screenshot.
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 1350)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond) // let the charts paint
		screenshot(t, b, shots, "host.png")
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("HTML in messages is shown as text and runs nothing", func(t *testing.T) {
		s.add(&simHost{name: xssHost, cpuBase: 20, memBase: 30, rxBase: 100_000, platform: xssPlatform,
			processor: xssProcessor, ifName: xssIface, disks: map[string]float64{xssMount: 40}})
		eval[bool](t, b, `(location.hash = '#/', true)`)
		waitFor(t, b, "a tile for the hostile host", 5*time.Second, `[...document.querySelectorAll('#tiles .tile')].some((e) => e.getAttribute('data-host') === `+jsString(xssHost)+` && e.querySelector('.t-name').getAttribute('title') === `+jsString(xssHost)+`)`,
			func(ok bool) bool { return ok })
		// Open its host view with a real click.
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#filter`)), chromedp.SendKeys(chromedp.CSS(`#filter`), "onerror")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, b, "the filter leaves one tile", 3*time.Second, `document.querySelectorAll('#tiles .tile').length`, func(n int) bool { return n == 1 })
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#tiles a.tile`))); err != nil {
			t.Fatal(err)
		}
		got := waitFor(t, b, "the hostile host's view", 5*time.Second, `(() => {
			const fs = document.querySelector('#hv-fs tbody'), ifs = document.querySelector('#hv-if tbody');
			return { name: document.getElementById('hv-name').textContent, facts: document.getElementById('hv-facts').textContent,
			  // A long mount point is elided in the middle, whole in its title.
			  fs: fs.textContent + [...fs.querySelectorAll('[title]')].map((e) => e.getAttribute('title')).join(' '), ifs: ifs.textContent, raw: document.getElementById('raw').textContent,
			  route: decodeURIComponent(location.hash.replace('#/host/', '')) };
		})()`, func(m map[string]string) bool {
			return m["name"] == xssHost && strings.Contains(m["raw"], "instance_id")
		})
		if got["route"] != xssHost {
			t.Errorf("the route names %q, want %q", got["route"], xssHost)
		}
		for what, want := range map[string]string{"facts": xssProcessor, "fs": xssMount, "ifs": xssIface} {
			if !strings.Contains(got[what], want) {
				t.Errorf("%s %q does not show %q as text", what, got[what], want)
			}
		}
		if !strings.Contains(got["facts"], xssPlatform) {
			t.Errorf("facts %q do not show the platform %q as text", got["facts"], xssPlatform)
		}
		var raw map[string]any
		if err := json.Unmarshal([]byte(got["raw"]), &raw); err != nil || raw["host"] != xssHost {
			t.Errorf("raw JSON host = %v (%v), want %q", raw["host"], err, xssHost)
		}
		time.Sleep(500 * time.Millisecond) // an injected handler would have run by now
		injected := eval[map[string]any](t, b, `({ xss: window.__xss === undefined ? null : String(window.__xss),
			elements: document.querySelectorAll('main img, main iframe, main script, main b, main svg').length })`)
		if injected["xss"] != nil || injected["elements"] != float64(0) {
			t.Errorf("message strings were inserted as HTML: %v", injected)
		}
		eval[bool](t, b, `(document.getElementById('filter').value = '', document.getElementById('filter').dispatchEvent(new Event('input')), location.hash = '#/', true)`)
	})

	t.Run("consumer restart: the page says disconnected, then resynchronises", func(t *testing.T) {
		waitFor(t, b, "back on the overview", 3*time.Second, `!document.getElementById('overview').hidden`, func(ok bool) bool { return ok })
		up := b.expectDown()
		consumer.stop(t)
		waitFor(t, b, "#conn says disconnected", 5*time.Second, `document.getElementById('conn').textContent`,
			func(s string) bool { return s == "disconnected" })
		if !eval[bool](t, b, `!document.getElementById('banner').hidden`) {
			t.Error("no banner tells that the connection was lost")
		}
		consumer = startConsumer(t, cfg, base, logs)
		waitFor(t, b, "#conn says connected again", 20*time.Second, `document.getElementById('conn').textContent`,
			func(s string) bool { return s == "connected" })
		up()
		// The new consumer knows only the hosts that published since it
		// started: the page must show exactly those (a fresh state replaces all).
		waitAPI("the publishing hosts known to the new consumer", func(n []string) bool { return len(n) >= 8 })
		want, _ := apiHosts(base)
		waitFor(t, b, "tiles resynchronised with the new consumer", 10*time.Second, tilesJS, func(ts []tile) bool {
			m := tilesByHost(ts)
			if len(ts) != len(want) {
				return false
			}
			for _, h := range want {
				if _, ok := m[h]; !ok {
					return false
				}
			}
			return m["web-01"].Status == "live"
		})
		if !eval[bool](t, b, `window.__loadedOnce === true`) {
			t.Error("the page was reloaded")
		}
	})

	if s.err != nil {
		t.Errorf("publish: %v", s.err)
	}
	if p := b.problems(t); len(p) > 0 {
		t.Errorf("the page logged errors or CSP violations:\n  %s", strings.Join(p, "\n  "))
	}
	resp, err := http.Get(base + "/")
	if err == nil {
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("the page is served without its CSP (got %q)", csp)
		}
	}
	t.Logf("browser test took %v", time.Since(started).Round(time.Millisecond))
}

// filedSince is the number of history points, by distinct time, that the
// consumer holds for host from since (unix ms) on: the page draws points of
// the same millisecond as one.
func filedSince(t *testing.T, base, host string, since int64) int {
	t.Helper()
	resp, err := http.Get(base + "/api/hosts?host=" + host)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		History []struct {
			T int64 `json:"t"`
		} `json:"history"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	times := map[int64]bool{}
	for _, p := range e.History {
		if p.T >= since {
			times[p.T] = true
		}
	}
	return len(times)
}
