package main

// The dashboard as an operator uses it (issue 14): what needs a human first,
// hosts that are down apart, counts as filters, forgetting a host, a grid
// that holds still, degraded hosts, long names, a lagging consumer, and
// WCAG 2.2 AA checked by axe-core in both themes.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

const suffix = ".prod.example.com"

// Two names that differ only at their end, longer than a tile shows.
const (
	longA = "db-primary-europe-west-replica-1a" + suffix
	longB = "db-primary-europe-west-replica-1b" + suffix
	nfs   = "nfs-client-01" + suffix
)

// orderJS lists the hosts of the grid and of the Down group, in page order.
const orderJS = `({ grid: [...document.querySelectorAll('#tiles .tile')].map((e) => e.getAttribute('data-host')),
  down: [...document.querySelectorAll('#down-tiles .tile')].map((e) => e.getAttribute('data-host')),
  downHidden: document.getElementById('down').hidden, downOpen: document.getElementById('down').open })`

type order struct {
	Grid       []string `json:"grid"`
	Down       []string `json:"down"`
	DownHidden bool     `json:"downHidden"`
	DownOpen   bool     `json:"downOpen"`
}

// calmRecorderJS records, in window.__calm.log, the grid's order each time
// it changes and when (performance.now() minus window.__calm.t0, which the
// caller sets); window.__calm.stop() ends it and returns the log. It is
// evaluated through DevTools: the page itself exposes nothing for it.
const calmRecorderJS = `(() => {
  const grid = document.getElementById('tiles');
  const order = () => [...grid.querySelectorAll('.tile')].map((e) => e.getAttribute('data-host'));
  const rec = { t0: 0, log: [] };
  let last = order().join(' ');
  const obs = new MutationObserver(() => {
    const o = order();
    if (o.join(' ') !== last) { last = o.join(' '); rec.log.push({ t: performance.now() - rec.t0, order: o }); }
  });
  obs.observe(grid, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-host'] });
  rec.stop = () => { obs.disconnect(); return rec.log; };
  window.__calm = rec;
})()`

// calmEntry is one change of the grid's order, at t ms of the page's clock.
type calmEntry struct {
	T     float64  `json:"t"`
	Order []string `json:"order"`
}

// reranked tells whether the hosts in both orders are in another order in
// the second: a host leaving or joining the grid moves the others without
// re-ranking them.
func reranked(before, after []string) bool {
	common := func(a, b []string) []string {
		var out []string
		for _, h := range a {
			if slices.Contains(b, h) {
				out = append(out, h)
			}
		}
		return out
	}
	return !slices.Equal(common(before, after), common(after, before))
}

// axeResult is what runAxe returns: the WCAG 2 A/AA violations.
type axeResult struct {
	ID    string   `json:"id"`
	Help  string   `json:"help"`
	Nodes []string `json:"nodes"`
}

type axeRun struct {
	Passes     int         `json:"passes"`
	Violations []axeResult `json:"violations"`
}

func runAxe(t *testing.T, b *browser, what string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	// DevTools evaluates it, so the page's CSP (no inline script) stays as it is.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](string(src)+"\n;true")); err != nil {
		t.Fatalf("load axe-core: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[axeRun](`axe.run(document, {
	    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
	    resultTypes: ['violations'] })
	  .then((r) => ({ passes: r.passes.length, violations: r.violations.map((v) => ({ id: v.id, help: v.help,
	    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\s+/g, ' ')) })) }))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core on %s: %v", what, err)
	}
	if len(res.Violations) == 0 && res.Passes < 10 {
		t.Fatalf("%s: axe-core checked %d rules only", what, res.Passes)
	}
	t.Logf("%s: axe-core passed %d rules", what, res.Passes)
	for _, v := range res.Violations {
		t.Errorf("%s: WCAG violation %s (%s):\n    %s", what, v.ID, v.Help, strings.Join(v.Nodes, "\n    "))
	}
}

func setDark(t *testing.T, b *browser, dark bool) {
	t.Helper()
	v := "light"
	if dark {
		v = "dark"
	}
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia,
		emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // transitions end, charts redraw
}

// click clicks the element's centre with the real mouse.
func click(t *testing.T, b *browser, sel string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second) // Click waits for the element to exist
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

func TestDashboardOperators(t *testing.T) {
	requireChromium(t)
	conn := dialBroker(t)
	id, _ := testExchange(t, conn, "operators")
	// A host that said goodbye is forgotten 20 s later (HOST_EXPIRE).
	cfg, base := consumerEnv(t, id, "HOST_STALE_MIN=3s\nHOST_OFFLINE_MIN=30s\nHOST_EXPIRE=20s\n")
	startLogged(t, cfg, base)

	s := newSim(t, conn, id, 250*time.Millisecond)
	simCtx, stopSim := context.WithCancel(context.Background())
	simDone := make(chan struct{})
	go func() { defer close(simDone); s.run(simCtx) }()
	t.Cleanup(func() { stopSim(); <-simDone })
	host := func(name string, cpu float64, phase float64) *simHost {
		return &simHost{name: name, cpuBase: cpu, memBase: 40, rxBase: 500_000, platform: "Linux", processor: "Xeon",
			ifName: "eth0", phase: phase, disks: map[string]float64{"/": 30, "/var/lib/kubelet/pods/volumes": 60}}
	}
	crit := host(longA, 20, 0)
	crit.memBase = 97 // critical: memory ≥ 95
	s.add(crit)
	s.add(host(longB, 88, 0)) // warning: CPU ≥ 80
	s.add(host("web-02"+suffix, 20, 0))
	nfsHost := host(nfs, 10, 0)
	nfsHost.missing = []string{"filesystem:/mnt/nfs"}
	s.add(nfsHost)
	// Four hosts whose CPU waves cross each other's: Sort = CPU would
	// reshuffle them at every update.
	for i := range 4 {
		s.add(host(fmt.Sprintf("api-%02d%s", i+1, suffix), 40+float64(i), float64(i)*1.6))
	}
	s.add(host("old-01"+suffix, 5, 0))
	s.add(host("old-02"+suffix, 5, 0))
	time.Sleep(time.Second)
	s.goodbye("old-01" + suffix)
	time.Sleep(300 * time.Millisecond)
	s.goodbye("old-02" + suffix)
	goodbyeAt := time.Now()
	s.silence("web-02" + suffix)

	b := startBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "ten tiles", 10*time.Second, `document.querySelectorAll('.tile[data-seq]').length`, func(n int) bool { return n == 10 })

	t.Run("worst first ranks what needs a human; hosts that are down are apart", func(t *testing.T) {
		eval[bool](t, b, `(() => { const s = document.getElementById('sort'); s.value = 'worst'; s.dispatchEvent(new Event('change'));
		  const p = document.getElementById('problems'); if (!p.checked) p.click(); return true; })()`)
		o := waitFor(t, b, "critical, warning, degraded, stale; two down", 10*time.Second, orderJS, func(o order) bool {
			return len(o.Grid) == 4 && o.Grid[3] == "web-02"+suffix && len(o.Down) == 2
		})
		want := []string{longA, longB, nfs, "web-02" + suffix}
		if !slices.Equal(o.Grid, want) {
			t.Errorf("worst first, problems only: %v, want %v", o.Grid, want)
		}
		// Newest first, collapsed.
		if !slices.Equal(o.Down, []string{"old-02" + suffix, "old-01" + suffix}) || o.DownHidden || o.DownOpen {
			t.Errorf("down group %+v: want old-02 then old-01, shown, collapsed", o)
		}
		if got := eval[string](t, b, `document.querySelector('#down summary').textContent`); !strings.HasPrefix(got, "Down (2)") {
			t.Errorf("the down group says %q, want Down (2)", got)
		}
	})

	t.Run("the header counts are filters", func(t *testing.T) {
		counts := eval[map[string]string](t, b, `Object.fromEntries(['crit','warn','degraded','live','stale','offline'].map((k) => [k, document.getElementById('count-' + k).textContent]))`)
		if counts["crit"] != "1" || counts["warn"] != "1" || counts["degraded"] != "1" || counts["stale"] != "1" || counts["offline"] != "2" {
			t.Errorf("counts %v: want 1 critical, 1 warning, 1 degraded, 1 stale, 2 offline", counts)
		}
		click(t, b, `#counts button[data-filter="crit"]`)
		o := waitFor(t, b, "the critical host alone", 3*time.Second, orderJS, func(o order) bool { return len(o.Grid) == 1 })
		if o.Grid[0] != longA || len(o.Down) != 0 {
			t.Errorf("after a click on “1 critical”: %+v, want %s alone", o, longA)
		}
		if p := eval[string](t, b, `document.querySelector('#counts button[data-filter="crit"]').getAttribute('aria-pressed')`); p != "true" {
			t.Errorf("the pressed count says aria-pressed=%q", p)
		}
		click(t, b, `#counts button[data-filter="offline"]`)
		o = waitFor(t, b, "the hosts that are down alone", 3*time.Second, orderJS, func(o order) bool { return len(o.Grid) == 0 && len(o.Down) == 2 })
		if !o.DownOpen {
			t.Error("filtering on offline leaves the down group collapsed")
		}
		click(t, b, `#counts button[data-filter="offline"]`) // again: everything
		waitFor(t, b, "every host again", 3*time.Second, orderJS, func(o order) bool { return len(o.Grid)+len(o.Down) == 6 })
	})

	t.Run("forget this host: two clicks, the same guards as every write", func(t *testing.T) {
		// A cross-site request is refused and forgets nothing.
		req, _ := http.NewRequest(http.MethodDelete, base+"/api/hosts?host=old-02"+suffix, nil)
		req.Header.Set("Origin", "http://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a cross-site DELETE answered %d, want 403", resp.StatusCode)
		}
		req, _ = http.NewRequest(http.MethodDelete, base+"/api/hosts/nobody"+suffix, nil)
		if resp, err = http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("DELETE of an unknown host answered %d, want 404", resp.StatusCode)
		}
		eval[bool](t, b, `(location.hash = '#/host/old-01`+suffix+`', true)`)
		waitFor(t, b, "old-01's view", 3*time.Second, `document.getElementById('hv-name').textContent`, func(s string) bool { return s == "old-01"+suffix })
		click(t, b, "#forget")
		if names, _ := apiHosts(base); !slices.Contains(names, "old-01"+suffix) {
			t.Fatal("one click forgot the host: it must ask again")
		}
		click(t, b, "#forget")
		waitFor(t, b, "back on the overview without old-01", 5*time.Second, orderJS+`.down.concat(`+orderJS+`.grid).join(' ')`,
			func(s string) bool { return !strings.Contains(s, "old-01") && strings.Contains(s, "old-02") })
		if names, _ := apiHosts(base); slices.Contains(names, "old-01"+suffix) || !slices.Contains(names, "old-02"+suffix) {
			t.Errorf("/api/hosts lists %v: want old-01 forgotten, old-02 kept", names)
		}
	})

	t.Run("a degraded host says what is missing and counts as a problem", func(t *testing.T) {
		got := eval[map[string]string](t, b, `(() => { const e = document.querySelector('.tile[data-host="`+nfs+`"]');
		  const m = e.querySelector('.t-missing'); return { text: m.hidden ? '' : m.textContent, degraded: e.getAttribute('data-degraded') }; })()`)
		if !strings.Contains(got["text"], "degraded") || !strings.Contains(got["text"], "filesystem:/mnt/nfs") || got["degraded"] != "true" {
			t.Errorf("the NFS client's tile: %v, want a degraded mark naming filesystem:/mnt/nfs", got)
		}
	})

	t.Run("long names: the fleet's domain dropped, elided in the middle, whole on hover and in the host view", func(t *testing.T) {
		names := eval[map[string][2]string](t, b, `Object.fromEntries([...document.querySelectorAll('.tile')].map((e) => { const n = e.querySelector('.t-name');
		  return [e.getAttribute('data-host'), [n.textContent, n.getAttribute('title')]]; }))`)
		a, bb := names[longA], names[longB]
		if a[0] == bb[0] || !strings.HasSuffix(a[0], "1a") || !strings.HasSuffix(bb[0], "1b") || !strings.Contains(a[0], "…") || strings.Contains(a[0], suffix) {
			t.Errorf("tiles read %q and %q: want both ends kept (…1a, …1b), the middle elided, no %s", a[0], bb[0], suffix)
		}
		if a[1] != longA {
			t.Errorf("hover title %q, want %q", a[1], longA)
		}
		if w := names["web-02"+suffix][0]; w != "web-02" {
			t.Errorf("web-02's tile reads %q, want web-02", w)
		}
		// On a phone the tile is narrower still: the head gives way, the end stays whole.
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		phone := eval[map[string]any](t, b, `(() => { const n = document.querySelector('.tile[data-host="`+longA+`"] .t-name');
		  const head = n.querySelector('.t-name-head'), tail = n.querySelector('.t-name-tail');
		  return { tail: tail.textContent, whole: tail.scrollWidth <= tail.clientWidth + 1 && tail.getBoundingClientRect().right <= n.getBoundingClientRect().right + 1,
		    headCut: head.scrollWidth > head.clientWidth }; })()`)
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
		if tail, _ := phone["tail"].(string); !strings.HasSuffix(tail, "1a") || phone["whole"] != true || phone["headCut"] != true {
			t.Errorf("on a phone the name's end %v: want …1a shown whole and the head elided", phone)
		}
		if sub := eval[string](t, b, `document.querySelector('.tile[data-host="`+longA+`"] [data-metric="disk"] + .m-sub').textContent`); !strings.HasPrefix(sub, "/var/l") || !strings.HasSuffix(sub, "volumes") {
			t.Errorf("the fullest mount reads %q, want its start and its end", sub)
		}
	})

	t.Run("calm sorting: a metric sort re-ranks at most every 5 s, never under the pointer", func(t *testing.T) {
		// Every time is the page's own (performance.now(), recorded by a
		// MutationObserver on the grid): a slow machine delays the page and
		// this test alike, and the calm rule is about the page's clock.
		// t0 is taken before the sort changes, so the page's ranking is
		// after it and its next re-rank at least 5 s after t0.
		// api-04 starts low (10 %, under every other API host), so that only
		// a re-rank can put it second.
		bumped := "api-04" + suffix
		s.change(bumped, func(h *simHost) { h.cpuBase = 10 })
		eval[bool](t, b, `(() => { const p = document.getElementById('problems'); if (p.checked) p.click(); window.scrollTo(0, 0); return true; })()`)
		waitFor(t, b, "api-04 at about 10 % CPU", 10*time.Second, `(() => { const e = document.querySelector('.tile[data-host="`+bumped+`"] [data-metric="cpu"]');
		  const v = e ? parseFloat(e.textContent) : NaN; return Number.isFinite(v) ? v : 100; })()`,
			func(cpu float64) bool { return cpu < 20 })
		eval[bool](t, b, calmRecorderJS+`; (() => { const s = document.getElementById('sort'); s.value = 'cpu';
		  window.__calm.t0 = performance.now(); s.dispatchEvent(new Event('change')); return true; })()`)
		pageMs := func() float64 { return eval[float64](t, b, `performance.now() - window.__calm.t0`) }
		for pageMs() < 500 {
			time.Sleep(50 * time.Millisecond)
		}
		// api-04 jumps from 10 % to 70 % CPU: second after the 88 % host,
		// at a re-rank and not before.
		s.change(bumped, func(h *simHost) { h.cpuBase = 70 })
		// A filter that every host passes, typed and cleared: the grid is
		// laid out again (as when a host changes status), not re-ranked.
		for pageMs() < 2000 {
			time.Sleep(50 * time.Millisecond)
		}
		typeFilter := func(q string) {
			eval[bool](t, b, `(() => { const f = document.getElementById('filter'); f.value = '`+q+`'; f.dispatchEvent(new Event('input')); return true; })()`)
		}
		typeFilter("example")
		for pageMs() < 2500 {
			time.Sleep(50 * time.Millisecond)
		}
		typeFilter("")
		for pageMs() < 11000 { // two chances to re-rank
			time.Sleep(200 * time.Millisecond)
		}
		log := eval[[]calmEntry](t, b, `window.__calm.stop()`)
		if len(log) == 0 || log[0].T > 2000 {
			t.Fatalf("the grid did not follow the sort change at once: %+v", log)
		}
		if len(log[0].Order) < 2 || log[0].Order[1] == bumped {
			t.Fatalf("sorted by CPU, the grid reads %v: want api-04 (10 %%) below the other API hosts", log[0].Order)
		}
		// A re-rank changes the order of hosts that are in the grid before
		// and after it; a host leaving or joining the grid is not one.
		ranks, moved, lastRank := 0, -1.0, log[0].T
		for i := 1; i < len(log); i++ {
			if !reranked(log[i-1].Order, log[i].Order) {
				continue
			}
			if log[i].T > 11000 {
				break
			}
			ranks++
			if gap := log[i].T - lastRank; gap < 4750 {
				t.Errorf("re-ranked %.0f ms after the previous ranking (at %.0f ms), want 5 s apart: %v -> %v",
					gap, lastRank, log[i-1].Order, log[i].Order)
			}
			lastRank = log[i].T
			if moved < 0 && len(log[i].Order) > 1 && log[i].Order[1] == bumped {
				moved = log[i].T
			}
		}
		if moved < 5000 {
			t.Errorf("api-04 moved up at %.0f ms (-1: never), want at a re-rank, 5 s after the sort's ranking at most every 5 s; orders: %+v", moved, log)
		}
		if ranks < 1 || ranks > 2 {
			t.Errorf("the grid was re-ranked %d times in 11 s, want 1 or 2 (every 5 s)", ranks)
		}
		t.Logf("re-ranked %d times in 11 s of the page's clock; api-04 moved up after %.1f s", ranks, moved/1000)

		// The real pointer over the third tile, for 7 s of the page's
		// clock: it stays there. The tile under it is the one there when
		// the page receives the move (on a slow machine a re-rank may come
		// between this test's look and the page's), and the recorder looks
		// at every change of the document, not only at the moments this
		// test polls.
		pos := eval[[]float64](t, b, `(() => { const r = document.querySelectorAll('#tiles .tile')[2].getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`)
		eval[bool](t, b, fmt.Sprintf(`(() => { const x = %f, y = %f;
		  const at = () => { const e = document.elementFromPoint(x, y); const tile = e && e.closest('.tile'); return tile ? tile.getAttribute('data-host') : ''; };
		  const rec = { t0: 0, under: null, changes: [] };
		  const check = () => { if (rec.under === null) return; const h = at(); if (h !== rec.under) rec.changes.push({ t: performance.now() - rec.t0, host: h,
		    gridTop: document.getElementById('tiles').getBoundingClientRect().top,
		    order: [...document.querySelectorAll('#tiles .tile')].map((e) => e.getAttribute('data-host')) }); };
		  document.addEventListener('pointermove', () => { if (rec.under === null) { rec.under = at(); rec.t0 = performance.now(); } }, true);
		  const obs = new MutationObserver(check);
		  obs.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-host', 'hidden', 'class', 'style'] });
		  rec.stop = () => { obs.disconnect(); check(); return rec.changes; };
		  window.__pointer = rec; return true; })()`, pos[0], pos[1]))
		if err := chromedp.Do(b.ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pos[0], pos[1])); err != nil {
			t.Fatal(err)
		}
		under := waitFor(t, b, "the page told of the pointer", 5*time.Second, `window.__pointer.under`, func(h *string) bool { return h != nil })
		if *under == "" {
			t.Fatalf("no tile at %v", pos)
		}
		for eval[float64](t, b, `performance.now() - window.__pointer.t0`) < 7000 {
			time.Sleep(200 * time.Millisecond)
		}
		if changes := eval[[]map[string]any](t, b, `window.__pointer.stop()`); len(changes) > 0 {
			t.Errorf("the tile under the pointer changed from %s: %v", *under, changes)
		}
		if err := chromedp.Do(b.ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("keyboard: tiles reachable with Tab, Esc returns to the tile", func(t *testing.T) {
		eval[bool](t, b, `(document.getElementById('filter').focus(), true)`)
		var focused string
		for range 20 {
			if err := chromedp.Do(b.ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
				t.Fatal(err)
			}
			focused = eval[string](t, b, `document.activeElement.classList.contains('tile') ? document.activeElement.getAttribute('data-host') : ''`)
			if focused != "" {
				break
			}
		}
		if focused == "" {
			t.Fatal("no tile reached with 20 presses of Tab")
		}
		t.Logf("Tab reached %s", focused)
		ring := eval[string](t, b, `getComputedStyle(document.activeElement).outlineStyle + ' ' + getComputedStyle(document.activeElement).outlineWidth`)
		if ring != "solid 3px" {
			t.Errorf("the focused tile's outline is %q, want a visible ring (solid 3px)", ring)
		}
		// Its place holds while it has focus.
		at := eval[int](t, b, `[...document.querySelectorAll('#tiles .tile')].indexOf(document.activeElement)`)
		time.Sleep(6 * time.Second)
		if now := eval[int](t, b, `[...document.querySelectorAll('#tiles .tile')].indexOf(document.activeElement)`); now != at || at < 0 {
			t.Errorf("the focused tile moved from %d to %d (-1: it lost focus)", at, now)
		}
		if err := chromedp.Do(b.ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, b, "the host view", 3*time.Second, `document.getElementById('hv-name').textContent`, func(h string) bool { return h == focused })
		if err := chromedp.Do(b.ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
			t.Fatal(err)
		}
		got := waitFor(t, b, "focus back on the tile", 3*time.Second, `(() => { const a = document.activeElement;
		  return { hash: location.hash, host: a && a.classList.contains('tile') ? a.getAttribute('data-host') : '',
		    active: a ? a.tagName + '#' + a.id + '.' + a.className : 'none' }; })()`,
			func(m map[string]string) bool { return m["hash"] == "#/" && m["host"] != "" })
		if got["host"] != focused {
			t.Errorf("after Esc focus is on %s, want %s", got["host"], focused)
		}
	})

	t.Run("axe-core: no WCAG 2 A/AA violation, light and dark, overview and host view", func(t *testing.T) {
		eval[bool](t, b, `(location.hash = '#/', true)`)
		time.Sleep(300 * time.Millisecond)
		for _, dark := range []bool{false, true} {
			theme := map[bool]string{false: "light", true: "dark"}[dark]
			setDark(t, b, dark)
			eval[bool](t, b, `(location.hash = '#/', document.getElementById('down').open = true, true)`)
			time.Sleep(400 * time.Millisecond)
			runAxe(t, b, "overview ("+theme+")")
			eval[bool](t, b, `(location.hash = '#/host/`+nfs+`', true)`)
			waitFor(t, b, "charts", 5*time.Second, `document.querySelectorAll('#charts canvas').length`, func(n int) bool { return n > 0 })
			runAxe(t, b, "host view ("+theme+")")
		}
		setDark(t, b, false)
	})

	t.Run("host view: degraded badge, disk IOPS", func(t *testing.T) {
		eval[bool](t, b, `(location.hash = '#/host/`+nfs+`', true)`)
		got := waitFor(t, b, "the NFS client's view", 3*time.Second, `({ badge: document.getElementById('hv-degraded').hidden ? '' : document.getElementById('hv-degraded').textContent,
		  facts: document.getElementById('hv-facts').textContent, name: document.getElementById('hv-name').textContent })`,
			func(m map[string]string) bool { return m["name"] == nfs })
		if !strings.Contains(got["badge"], "filesystem:/mnt/nfs") {
			t.Errorf("the host view's badge says %q, want the missing source", got["badge"])
		}
		// The simulated publishers send 1 read and 3 writes per second.
		if !strings.Contains(got["facts"], "Disk IOPS1.0/s read · 3.0/s write") {
			t.Errorf("facts %q lack the disk IOPS", got["facts"])
		}
		eval[bool](t, b, `(location.hash = '#/host/`+longA+`', true)`)
		if n := waitFor(t, b, "the long name whole", 3*time.Second, `document.getElementById('hv-name').textContent`, func(s string) bool { return s != nfs }); n != longA {
			t.Errorf("the host view's title is %q, want %q", n, longA)
		}
	})

	t.Run("raw JSON: holds still while text is selected, Copy copies it", func(t *testing.T) {
		seqJS := `(() => { try { return JSON.parse(document.getElementById('raw').textContent).seq; } catch (e) { return 0; } })()`
		waitFor(t, b, "the raw JSON", 3*time.Second, seqJS, func(n int) bool { return n > 0 })
		eval[bool](t, b, `(() => { const r = document.createRange(); r.selectNodeContents(document.getElementById('raw'));
		  const s = document.getSelection(); s.removeAllRanges(); s.addRange(r); return true; })()`)
		held := eval[int](t, b, seqJS)
		time.Sleep(1500 * time.Millisecond) // six snapshots
		if now := eval[int](t, b, seqJS); now != held {
			t.Errorf("the raw JSON moved from seq %d to %d while selected", held, now)
		}
		if eval[bool](t, b, `document.getElementById('raw-paused').hidden`) {
			t.Error("nothing says the panel is paused")
		}
		if eval[string](t, b, `document.getSelection().toString()`) == "" {
			t.Error("the selection vanished")
		}
		eval[bool](t, b, `(document.getSelection().removeAllRanges(), true)`)
		waitFor(t, b, "the raw JSON moving again", 3*time.Second, seqJS, func(n int) bool { return n > held })

		if _, err := chromedp.Call(b.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-write"}, Setting: cdpbrowser.PermissionSettingGranted, Origin: base}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(b.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-read"}, Setting: cdpbrowser.PermissionSettingGranted, Origin: base}); err != nil {
			t.Fatal(err)
		}
		click(t, b, "#raw-copy")
		waitFor(t, b, "the Copy button says copied", 3*time.Second, `document.getElementById('raw-copy').textContent`, func(s string) bool { return s == "Copied" })
		clip, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("read the clipboard: %v", err)
		}
		if !strings.Contains(clip, `"host": "`+longA+`"`) {
			t.Errorf("the clipboard holds %.200q, want the snapshot's JSON", clip)
		}
	})

	t.Run("a lagging consumer says so once instead of showing the fleet stale", func(t *testing.T) {
		eval[bool](t, b, `(location.hash = '#/', true)`)
		s.setLag(12 * time.Second)
		got := waitFor(t, b, "the header says updates are delayed", 12*time.Second, `document.getElementById('delay').hidden ? '' : document.getElementById('delay').textContent`,
			func(s string) bool { return s != "" })
		if got != "updates delayed by 12 s" && got != "updates delayed by 13 s" {
			t.Errorf("the header says %q, want updates delayed by 12 s", got)
		}
		if n := eval[int](t, b, `document.querySelectorAll('#delay:not([hidden])').length`); n != 1 {
			t.Errorf("%d delay notes", n)
		}
		if live := eval[string](t, b, `document.getElementById('count-live').textContent`); live != "7" {
			t.Errorf("%s hosts live while the consumer lags, want the 7 that publish", live)
		}
		s.setLag(0)
		waitFor(t, b, "the delay note gone", 12*time.Second, `document.getElementById('delay').hidden`, func(h bool) bool { return h })
	})

	t.Run("HOST_EXPIRE removes tiles too", func(t *testing.T) {
		// old-02 said goodbye: HOST_EXPIRE (20 s) forgets it, and its tile goes.
		waitFor(t, b, "old-02 expired from the page", time.Until(goodbyeAt.Add(20*time.Second+20*time.Second)),
			`document.querySelectorAll('.tile[data-host="old-02`+suffix+`"]').length`, func(n int) bool { return n == 0 })
		if d := time.Since(goodbyeAt); d < 19*time.Second {
			t.Errorf("old-02 left the page %v after its goodbye, before HOST_EXPIRE (20 s)", d)
		}
	})

	if s.err != nil {
		t.Errorf("publish: %v", s.err)
	}
	if p := b.problems(t); len(p) > 0 {
		t.Errorf("the page logged errors or CSP violations:\n  %s", strings.Join(p, "\n  "))
	}
}
