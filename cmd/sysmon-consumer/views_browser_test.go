package main

// The views of a big fleet (issue 14, point 8): at 1,000 hosts only the
// tiles and rows on screen are in the document, the table sorts by a click
// on its headers, a cell of the status map opens its host and Esc comes
// back to it, and the new views pass axe-core in both themes. Speed is
// measured by make bench -only browser, not here.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

func TestDashboardViews(t *testing.T) {
	requireChromium(t)
	conn := dialBroker(t)
	id, _ := testExchange(t, conn, "views")
	cfg, base := consumerEnv(t, id, "HOST_STALE_MIN=30s\nHOST_OFFLINE_MIN=60s\n")
	startLogged(t, cfg, base)

	const fleet = 1000
	s := newSim(t, conn, id, time.Second)
	simCtx, stopSim := context.WithCancel(context.Background())
	simDone := make(chan struct{})
	go func() { defer close(simDone); s.run(simCtx) }()
	t.Cleanup(func() { stopSim(); <-simDone })
	const crit, warn, down, degraded = "host-0500", "host-0600", "host-0700", "host-0800"
	for i := range fleet {
		h := &simHost{name: fmt.Sprintf("host-%04d", i), cpuBase: 20 + float64(i%40), memBase: 40, rxBase: 100_000,
			platform: "Linux", processor: "Xeon", ifName: "eth0", disks: map[string]float64{"/": 30}}
		switch h.name {
		case crit:
			h.memBase = 97 // ≥ 96 whatever its wave: critical
		case warn:
			h.cpuBase = 87 // 81 to 93: warning at least
			h.memBase = 88
		case degraded:
			h.missing = []string{"filesystem:/mnt/nfs"}
		}
		s.add(h)
	}
	s.goodbye(down)

	b := startBrowser(t)
	// Sockets the page opens on its main thread (the stream belongs in a worker).
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
window.__mainSockets = 0;
(() => {
  const WS = window.WebSocket;
  window.WebSocket = function (...args) { window.__mainSockets++; return new WS(...args); };
  window.WebSocket.prototype = WS.prototype;
})();`}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/#/grid")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "1,000 hosts counted", 30*time.Second, `document.getElementById('count-hosts').textContent`, func(s string) bool { return s == "1000" })
	// At 10,000 hosts receiving and parsing the stream took a quarter of
	// the main thread: a Web Worker (stream.js) does it.
	if n := eval[int](t, b, `window.__mainSockets`); n != 0 {
		t.Errorf("the page opened %d WebSocket(s) on its main thread: want the stream received and parsed in a worker", n)
	}
	eval[bool](t, b, `(() => { const s = document.getElementById('sort'); s.value = 'name'; s.dispatchEvent(new Event('change')); return true; })()`)

	domJS := `({ tiles: document.querySelectorAll('#tiles .tile').length, rows: document.querySelectorAll('#hosts-table tbody tr[data-host]').length,
	  nodes: document.getElementsByTagName('*').length, hosts: [...document.querySelectorAll('#tiles .tile, #hosts-table tr[data-host]')].map((e) => e.getAttribute('data-host')) })`
	type dom struct {
		Tiles, Rows, Nodes int
		Hosts              []string
	}

	t.Run("grid: only the tiles on screen are in the document, scrolling brings the others", func(t *testing.T) {
		d := waitFor(t, b, "tiles", 5*time.Second, domJS, func(d dom) bool { return d.Tiles > 0 })
		if d.Tiles > 100 || d.Nodes > 15000 {
			t.Errorf("%d tiles and %d elements in the document at 1,000 hosts: want the screen's tiles only (≤ 100), ≤ 15,000 elements", d.Tiles, d.Nodes)
		}
		if d.Hosts[0] != "host-0000" {
			t.Errorf("the first tile is %s, want host-0000 (sorted by name)", d.Hosts[0])
		}
		eval[bool](t, b, `(window.scrollTo(0, document.body.scrollHeight), true)`)
		d = waitFor(t, b, "the last tiles", 5*time.Second, domJS, func(d dom) bool { return len(d.Hosts) > 0 && d.Hosts[len(d.Hosts)-1] == "host-0999" })
		if d.Tiles > 100 || strings.Contains(strings.Join(d.Hosts, " "), "host-0000") {
			t.Errorf("scrolled to the end: %d tiles, first %s: want the last screen only", d.Tiles, d.Hosts[0])
		}
		eval[bool](t, b, `(window.scrollTo(0, 0), true)`)
		// One height for every tile: a degraded one, a line longer, shows all of it.
		eval[bool](t, b, `(() => { const f = document.getElementById('filter'); f.value = '`+degraded+`'; f.dispatchEvent(new Event('input')); return true; })()`)
		cut := waitFor(t, b, "the degraded tile alone", 5*time.Second, `(() => { const t = document.querySelectorAll('#tiles .tile');
		  return t.length === 1 && t[0].getAttribute('data-degraded') === 'true' ? t[0].scrollHeight - t[0].clientHeight : -1; })()`, func(n int) bool { return n >= 0 })
		if cut > 0 {
			t.Errorf("the degraded tile's content is %d px taller than the tile", cut)
		}
		eval[bool](t, b, `(() => { const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input')); return true; })()`)
	})

	t.Run("grid: while the page scrolls, the figures wait for a second at most, and come at once when it stops", func(t *testing.T) {
		// The consumer sends what changed four times a second (WS_TICK):
		// drawn as it came, each update laid out and repainted the tiles in
		// a frame of its own, between the frames of a scroll. While the page
		// scrolls (here back and forth within the tiles drawn, so that the
		// window never moves) they are drawn about once a second, and
		// once it stops, within a few frames. The first hundred hosts
		// (those on screen) publish ten times a second meanwhile: each of
		// the consumer's updates has some of them.
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				s.mu.Lock()
				for _, h := range s.hosts[:100] {
					s.publishLocked(h, false)
				}
				s.mu.Unlock()
			}
		}()
		got := eval[map[string]float64](t, b, `new Promise((done) => {
		  window.scrollTo(0, 300);
		  const tiles = document.getElementById('tiles');
		  let frame = 0, last = -1, during = 0, stopAt = 0, after = -1;
		  // "seen … ago" is refreshed by the page's clock, each second: not a figure.
		  const figure = (m) => !(m.target.nodeType === 1 ? m.target : m.target.parentElement).closest('[data-metric="seen"]');
		  const mo = new MutationObserver((ms) => {
		    if (!ms.some(figure)) return;
		    if (stopAt) { if (after < 0) after = performance.now() - stopAt; return; }
		    if (frame !== last) { last = frame; during++; }
		  });
		  let t0 = 0, dir = 1;
		  const step = (t) => {
		    if (!t0) { t0 = t; mo.observe(tiles, { subtree: true, childList: true, characterData: true, attributes: true }); }
		    frame++;
		    if (t - t0 < 4000) { window.scrollBy(0, dir * 30); dir = -dir; requestAnimationFrame(step); return; }
		    stopAt = performance.now();
		    setTimeout(() => { mo.disconnect(); done({ during, after, frames: frame }); }, 1500);
		  };
		  requestAnimationFrame(step);
		})`, chromedp.EvalAwaitPromise)
		close(stop)
		<-done
		if got["during"] < 2 || got["during"] > 7 {
			t.Errorf("scrolling for 4 s (%v frames), the tiles changed in %v frames: want about one a second (2 to 7), not at each of the consumer's 16 updates", got["frames"], got["during"])
		}
		if got["after"] < 0 || got["after"] > 1000 {
			t.Errorf("the scrolling stopped, the tiles changed %v ms later: want within a second (-1: not at all)", got["after"])
		}
		eval[bool](t, b, `(window.scrollTo(0, 0), true)`)
	})

	t.Run("table: sorts by a click on a header, rows on screen only", func(t *testing.T) {
		eval[bool](t, b, `(location.hash = '#/table', true)`)
		d := waitFor(t, b, "table rows", 5*time.Second, domJS, func(d dom) bool { return d.Rows > 0 && d.Tiles == 0 })
		if d.Rows > 100 || d.Nodes > 15000 {
			t.Errorf("%d rows and %d elements at 1,000 hosts: want the screen's rows only", d.Rows, d.Nodes)
		}
		if cur := eval[string](t, b, `document.querySelector('#views a[aria-current="page"]').getAttribute('data-view')`); cur != "table" {
			t.Errorf("the view switch marks %q as current, want table", cur)
		}
		sortJS := `[...document.querySelectorAll('#hosts-table th')].filter((th) => th.getAttribute('aria-sort')).map((th) => th.textContent + ' ' + th.getAttribute('aria-sort')).join()`
		click(t, b, `#hosts-table th:nth-child(3) button`) // CPU
		waitFor(t, b, "the busiest host first", 5*time.Second, domJS, func(d dom) bool { return len(d.Hosts) > 0 && d.Hosts[0] == warn })
		if got := eval[string](t, b, sortJS); got != "CPU descending" {
			t.Errorf("aria-sort says %q, want CPU descending", got)
		}
		if got := eval[string](t, b, `document.querySelector('#hosts-table tr[data-host="`+warn+`"] td:nth-child(2)').textContent`); got != "warning" {
			t.Errorf("the warning host's status cell says %q", got)
		}
		click(t, b, `#hosts-table th:nth-child(3) button`) // again: upside down
		waitFor(t, b, "the busiest host no longer first", 5*time.Second, domJS, func(d dom) bool { return len(d.Hosts) > 0 && d.Hosts[0] != warn })
		if got := eval[string](t, b, sortJS); got != "CPU ascending" {
			t.Errorf("aria-sort says %q after a second click, want CPU ascending", got)
		}
		click(t, b, `#hosts-table th:nth-child(2) button`) // Status: worst first
		d = waitFor(t, b, "critical, then warning", 5*time.Second, domJS, func(d dom) bool { return len(d.Hosts) > 2 && d.Hosts[0] == crit })
		if d.Hosts[1] != warn || d.Hosts[2] != degraded {
			t.Errorf("by status: %v, want %s, %s, %s first", d.Hosts[:3], crit, warn, degraded)
		}
		if shots := os.Getenv("SYSMON_SCREENSHOT_DIR"); shots != "" {
			screenshot(t, b, shots, "table.png")
		}
		if got := eval[string](t, b, `document.querySelector('#hosts-table tr[data-host="`+crit+`"] td:nth-child(2)').textContent`); got != "critical" {
			t.Errorf("the critical host's status cell says %q", got)
		}
		// Its shape is the header's ▲ in the critical colour, not the live square.
		if got := eval[string](t, b, `(() => { const st = getComputedStyle(document.querySelector('#hosts-table tr[data-host="`+crit+`"] .shape'));
		  const live = getComputedStyle([...document.querySelectorAll('#hosts-table tr[data-host]')][4].querySelector('.shape')); // after crit, warn, degraded
		  return st.clipPath !== 'none' && st.backgroundColor !== live.backgroundColor ? 'ok' : st.clipPath + ' ' + st.backgroundColor; })()`); got != "ok" {
			t.Errorf("the critical row's status shape is %q: drawn as the live square", got)
		}
		click(t, b, `#hosts-table th:nth-child(1) button`) // Host
		waitFor(t, b, "host-0000 first", 5*time.Second, domJS, func(d dom) bool { return len(d.Hosts) > 0 && d.Hosts[0] == "host-0000" })
		// The Down group follows the fleet, collapsed, as in the grid.
		eval[bool](t, b, `(window.scrollTo(0, document.body.scrollHeight), true)`)
		got := waitFor(t, b, "the Down row", 5*time.Second, `(() => { const b = document.querySelector('#hosts-table .group-toggle'); return b ? b.textContent + ' ' + b.getAttribute('aria-expanded') : ''; })()`,
			func(s string) bool { return s != "" })
		if !strings.HasPrefix(got, "Down (1)") || !strings.HasSuffix(got, "false") {
			t.Errorf("the Down row says %q, want Down (1), collapsed", got)
		}
		click(t, b, `#hosts-table .group-toggle`)
		waitFor(t, b, "the down host's row", 5*time.Second, `document.querySelectorAll('#hosts-table tr[data-host="`+down+`"]').length`, func(n int) bool { return n == 1 })
		// Each row, the Down group's too, is where the window of rows puts
		// it: its place in the list times the one row height (--row-h).
		// A row taller or shorter than that shifts every row after it.
		if off := eval[[]string](t, b, `(() => {
		  const body = document.querySelector('#hosts-table tbody');
		  const h = parseFloat(getComputedStyle(body.closest('.vtable-wrap')).getPropertyValue('--row-h'));
		  const top = body.getBoundingClientRect().top, out = [];
		  for (const r of body.querySelectorAll('tr[aria-rowindex]')) {
		    const want = (Number(r.getAttribute('aria-rowindex')) - 2) * h, b = r.getBoundingClientRect();
		    if (Math.abs(b.top - top - want) > 0.5 || Math.abs(b.height - h) > 0.5) out.push((r.getAttribute('data-host') || r.className) + ' at ' + (b.top - top) + ' (' + b.height + ' px), want ' + want);
		  }
		  return out;
		})()`); len(off) > 0 {
			t.Errorf("table rows out of place: %s", strings.Join(off, "; "))
		}
		// To a screen reader it is a table, with its headers, rows and cells
		// (and the Down group's row), whatever CSS makes of its elements.
		for sel, want := range map[string]string{
			"#hosts-table":       "table",
			"#hosts-table thead": "rowgroup",
			"#hosts-table th":    "columnheader",
			`#hosts-table tr[data-host="` + down + `"]`:    "row",
			`#hosts-table tr[data-host="` + down + `"] td`: "cell",
			"#hosts-table tr.group":                        "row",
			"#hosts-table tr.group th":                     "rowheader",
		} {
			if got := axRole(t, b, sel); got != want {
				t.Errorf("%s is a %q to assistive technology, want %q", sel, got, want)
			}
		}
		eval[bool](t, b, `(window.scrollTo(0, 0), true)`)
	})

	t.Run("table: a short scroll changes nothing in the document", func(t *testing.T) {
		// Rows are drawn half a screen ahead each way: scrolling within them is
		// the compositor's work alone. A window that followed the scroll
		// row by row put rows in and out at every frame (17 frames/s at
		// 10,000 hosts). A relayout (a host changing status) may move
		// rows meanwhile: three tries.
		var moved []int
		for range 3 {
			got := eval[map[string]int](t, b, tableScrollJS(5, 2), chromedp.EvalAwaitPromise)
			n := got["added"] + got["removed"]
			if moved = append(moved, n); n == 0 {
				break
			}
		}
		if moved[len(moved)-1] != 0 {
			t.Errorf("scrolling 300 px, 60 px a frame, put rows in or out of the table (%v nodes, three tries): want none", moved)
		}
		eval[bool](t, b, `(window.scrollTo(0, 0), true)`)
	})

	t.Run("table: scrolled past the rows drawn, the rows kept stay in place", func(t *testing.T) {
		// Rows come from a pool: a row bound to a new host is still in the
		// table where its last host was. Left there, it had every row the
		// window kept taken out and put back in front of it, laid out anew
		// (147 of 166 rows added in such a scroll at 10,000 hosts).
		got := eval[map[string]int](t, b, tableScrollJS(30, 1), chromedp.EvalAwaitPromise)
		if got["added"] == 0 || got["kept"] != 0 {
			t.Errorf("scrolling 1,800 px, 60 px a frame: %d rows put in the table, %d of them rows it kept for the same host (taken out and put back): want rows added, none of them kept ones", got["added"], got["kept"])
		}
		eval[bool](t, b, `(window.scrollTo(0, 0), true)`)
	})

	t.Run("table: Enter opens a host, Esc comes back to its row", func(t *testing.T) {
		waitFor(t, b, "host-0002's row focused", 5*time.Second, `(() => { const a = document.querySelector('#hosts-table tr[data-host="host-0002"] a');
		  if (a) a.focus(); return document.activeElement === a; })()`, func(ok bool) bool { return ok })
		if err := chromedp.Do(b.ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, b, "host-0002's view", 5*time.Second, `document.getElementById('hv-name').textContent`, func(s string) bool { return s == "host-0002" })
		// The row is hidden under the host view: focus is on the host's name,
		// not lost to the page's body.
		if got := eval[string](t, b, `document.activeElement.id || document.activeElement.tagName`); got != "hv-name" {
			t.Errorf("the host view opened with focus on %q, want its heading (hv-name)", got)
		}
		if err := chromedp.Do(b.ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
			t.Fatal(err)
		}
		got := waitFor(t, b, "focus back on the row", 5*time.Second, `(() => { const a = document.activeElement, tr = a && a.closest('tr');
		  const back = document.getElementById('hostview').hidden; // the page has routed back (see the map's test)
		  return { view: document.getElementById('table-view').hidden ? 'other' : 'table', host: back && tr ? tr.getAttribute('data-host') || '' : '' }; })()`,
			func(m map[string]string) bool { return m["host"] != "" })
		if got["host"] != "host-0002" || got["view"] != "table" {
			t.Errorf("after Esc: %v, want the table with focus on host-0002", got)
		}
	})

	t.Run("map: a cell per host, status by shape too, a click opens the host, Esc comes back", func(t *testing.T) {
		// The first frame that shows the map has every host drawn on its
		// canvas, and not every cell made yet: at 10,000 hosts, making,
		// styling and laying out every cell in that frame held the map's
		// first render seconds behind the table's.
		eval[bool](t, b, `(window.__mapFirst = null, (function loop() { requestAnimationFrame(() => {
		  const cells = document.querySelectorAll('#map-view .cell');
		  if (!cells.length) { loop(); return; }
		  const cv = document.querySelector('#map-view canvas.map-paint'), grid = cells[0].parentElement, g = cv.getContext('2d');
		  const z = cells[0].getBoundingClientRect().width, per = Math.floor((grid.clientWidth + 3) / (z + 3));
		  const b = cv.getBoundingClientRect(), gb = grid.getBoundingClientRect(), k = cv.width / b.width;
		  const img = g.getImageData(0, 0, cv.width, cv.height);
		  let drawn = 0;
		  for (let i = 0; i < `+fmt.Sprint(fleet-1)+`; i++) {
		    const x0 = gb.left - b.left + (i % per) * (z + 3), y0 = gb.top - b.top + Math.floor(i / per) * (z + 3);
		    let any = false;
		    for (let y = Math.floor(y0 * k); !any && y < Math.floor((y0 + z) * k); y++)
		      for (let x = Math.floor(x0 * k); !any && x < Math.floor((x0 + z) * k); x++) any = img.data[(y * cv.width + x) * 4 + 3] > 0;
		    if (any) drawn++;
		  }
		  window.__mapFirst = { cells: cells.length, drawn };
		}); })(), location.hash = '#/map', true)`)
		first := waitFor(t, b, "the map's first frame", 5*time.Second, `window.__mapFirst || { cells: 0, drawn: 0 }`, func(m map[string]int) bool { return m["cells"] > 0 })
		if first["drawn"] != fleet-1 || first["cells"] >= fleet {
			t.Errorf("the map's first frame: %d cells made, %d of the fleet's %d hosts drawn on the canvas; want every host drawn, the cells to come over the next frames", first["cells"], first["drawn"], fleet-1)
		}
		n := waitFor(t, b, "cells", 5*time.Second, `document.querySelectorAll('#map-view .cell').length`, func(n int) bool { return n == fleet })
		if tiles := eval[int](t, b, `document.querySelectorAll('.tile, #hosts-table tr[data-host]').length`); tiles != 0 {
			t.Errorf("%d tiles or rows left in the document beside the map", tiles)
		}
		st := eval[map[string]string](t, b, `(() => { const c = document.querySelector('.cell[data-host="`+crit+`"]'), d = document.querySelector('.cell[data-host="`+down+`"]');
		  // The shapes are drawn on the map's canvas: the critical cell's box is
		  // empty at its top corners and filled at its bottom ones, a triangle.
		  const cv = document.querySelector('#map-view canvas.map-paint'), r = c.getBoundingClientRect(), b = cv.getBoundingClientRect(), k = cv.width / b.width;
		  const px = (x, y) => cv.getContext('2d').getImageData(Math.floor((x - b.left) * k), Math.floor((y - b.top) * k), 1, 1).data[3];
		  const tri = px(r.left + 1, r.top + 1) === 0 && px(r.right - 1, r.top + 1) === 0 && px(r.left + 2, r.bottom - 1) > 0 && px(r.right - 2, r.bottom - 1) > 0;
		  return { crit: c.getAttribute('data-s'), label: c.getAttribute('aria-label'), shape: tri ? 'triangle' : 'not a triangle',
		    down: d.getAttribute('data-s'), downIn: d.parentElement.getAttribute('aria-label'),
		    fits: String(document.getElementById('map-view').getBoundingClientRect().bottom <= window.innerHeight) }; })()`)
		if st["crit"] != "crit" || !strings.Contains(st["label"], "critical") || st["shape"] != "triangle" || st["down"] != "offline" || st["downIn"] != "Hosts that are down" {
			t.Errorf("map cells: %v, want the critical host's cell a triangle labelled critical, the down host in the down group", st)
		}
		if st["fits"] != "true" {
			t.Errorf("the map of %d hosts does not fit on one screen", n)
		}
		if shots := os.Getenv("SYSMON_SCREENSHOT_DIR"); shots != "" {
			screenshot(t, b, shots, "map.png")
		}
		// Hover tells the figures.
		click(t, b, `.cell[data-host="`+crit+`"]`)
		waitFor(t, b, "the critical host's view", 5*time.Second, `document.getElementById('hv-name').textContent`, func(s string) bool { return s == crit })
		if err := chromedp.Do(b.ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
			t.Fatal(err)
		}
		// The host view closes when the page routes back (a hashchange, after
		// the key): until then focus may still be on the cell, hidden, and a
		// key pressed now would reach the page before it is back.
		got := waitFor(t, b, "focus back on the cell", 5*time.Second, `(() => { const a = document.activeElement;
		  return document.getElementById('hostview').hidden && a && a.classList.contains('cell') ? a.getAttribute('data-host') : ''; })()`,
			func(s string) bool { return s != "" })
		if got != crit {
			t.Errorf("after Esc focus is on %q, want %s's cell", got, crit)
		}
		tip := waitFor(t, b, "the details of the focused cell", 3*time.Second, `(() => { const t = document.getElementById('map-tip'); return t.hidden ? '' : t.textContent; })()`,
			func(s string) bool { return s != "" })
		if !strings.Contains(tip, crit) || !strings.Contains(tip, "critical") || !strings.Contains(tip, "CPU") {
			t.Errorf("the details shown on focus say %q", tip)
		}
		// The arrow keys move between cells; one cell only is in the Tab order.
		if err := chromedp.Do(b.ctx, chromedp.KeyEvent(kb.ArrowRight)); err != nil {
			t.Fatal(err)
		}
		next := eval[string](t, b, `document.activeElement.getAttribute('data-host') + ' ' + document.querySelectorAll('#map-view .cell[tabindex="0"]').length`)
		if strings.HasPrefix(next, crit) || !strings.HasSuffix(next, " 1") {
			t.Errorf("after → focus and Tab order: %q, want the next cell, one cell tabbable", next)
		}
	})

	t.Run("axe-core: table and map, light and dark", func(t *testing.T) {
		// axe-core holds the page's thread for seconds: 1,000 hosts' updates
		// meanwhile would have the consumer drop it as a slow dashboard.
		stopSim()
		waitFor(t, b, "connected", 10*time.Second, `document.getElementById('conn').textContent`, func(s string) bool { return s == "connected" })
		for _, dark := range []bool{false, true} {
			theme := map[bool]string{false: "light", true: "dark"}[dark]
			setDark(t, b, dark)
			for _, v := range []string{"table", "map"} {
				eval[bool](t, b, `(location.hash = '#/`+v+`', window.scrollTo(0, 0), true)`)
				time.Sleep(400 * time.Millisecond)
				runAxe(t, b, v+" ("+theme+")")
			}
		}
		setDark(t, b, false)
	})

	t.Run("phone: the map and the table fit the width", func(t *testing.T) {
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844)); err != nil {
			t.Fatal(err)
		}
		defer chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 900))
		for _, v := range []string{"map", "table", "grid"} {
			eval[bool](t, b, `(location.hash = '#/`+v+`', true)`)
			time.Sleep(400 * time.Millisecond)
			if w := eval[int](t, b, `document.documentElement.scrollWidth`); w > 390 {
				t.Errorf("%s on a phone: the page is %d px wide, want 390", v, w)
			}
		}
	})

	if s.err != nil {
		t.Errorf("publish: %v", s.err)
	}
	if p := b.problems(t); len(p) > 0 {
		t.Errorf("the page logged errors or CSP violations:\n  %s", strings.Join(p, "\n  "))
	}
}

// tableScrollJS scrolls the page from its top by 60 px every `frames`
// frames, `steps` times, and counts the rows put in (added) and taken out
// (removed) of the table meanwhile, and among those put in, the rows it
// took out in the same change for the same host (kept: a row moved, not
// one that came or went).
func tableScrollJS(steps, frames int) string {
	return fmt.Sprintf(`new Promise((done) => {
	  const body = document.querySelector('#hosts-table tbody');
	  const hostOf = new Map();
	  const note = () => { hostOf.clear(); for (const r of body.children) hostOf.set(r, r.getAttribute('data-host')); };
	  let added = 0, removed = 0, kept = 0;
	  const mo = new MutationObserver((ms) => {
	    const out = new Set();
	    for (const m of ms) for (const n of m.removedNodes) { out.add(n); removed++; }
	    for (const m of ms) for (const n of m.addedNodes) {
	      added++;
	      if (out.has(n) && n.getAttribute('data-host') && hostOf.get(n) === n.getAttribute('data-host')) kept++;
	    }
	    note();
	  });
	  const after = (k, f) => (k === 0 ? f() : requestAnimationFrame(() => after(k - 1, f)));
	  window.scrollTo(0, 0);
	  after(2, () => {
	    note();
	    mo.observe(body, { childList: true });
	    let n = 0;
	    (function step() {
	      if (n++ === %d) { after(1, () => { mo.disconnect(); done({ added, removed, kept }); }); return; }
	      window.scrollBy(0, 60);
	      after(%d, step);
	    })();
	  });
	})`, steps, frames)
}
