package main

// Big hosts in the host view (issue 14, point 5): 64 and 256 cores drawn as
// a min/mean/max band with the busiest cores, 30 mounts the fullest first
// with "+N more", paths elided and devices whole, the cursor in sync across
// a host's charts, one time format everywhere and a sane axis for a chart
// with a single point; in the live view and a history range, axe-clean in
// both themes and on a phone.

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// A kubelet volume: the fullest mount, longer than a table cell shows.
const kubeletVolume = "/var/lib/kubelet/pods/3f1c6f9e-8a47-4b2e-9d55-0c6b1f3e7a21/volumes/kubernetes.io~csi/pvc-data/mount"

// textProbe records every text the page draws on a canvas (uPlot's axes),
// so that the test reads the axes' labels.
const textProbe = `
window.__texts = [];
{
  const fill = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (s, ...rest) {
    if (window.__texts.length < 20000) window.__texts.push(String(s));
    return fill.call(this, s, ...rest);
  };
}`

// legendJS reads a chart card's legend: whether it is shown, its labels
// (with their titles) and the values it reads out.
func legendJS(sel string) string {
	return `(() => { const c = document.querySelector(` + jsString(sel) + `); if (!c) return null;
	  const lg = c.querySelector('.u-legend'); const rows = lg ? [...lg.querySelectorAll('tr.u-series')] : [];
	  const more = c.querySelector('button.more');
	  return { shown: !!lg && lg.getClientRects().length > 0 && rows.length > 0,
	    points: +c.getAttribute('data-points'), series: +(c.getAttribute('data-series') || 0),
	    labels: rows.map((r) => r.querySelector('.u-label').textContent),
	    titles: rows.map((r) => r.querySelector('.u-label').getAttribute('title') || ''),
	    values: rows.map((r) => { const v = r.querySelector('.u-value'); return v ? v.textContent : ''; }),
	    note: (c.querySelector('.chart-note') || {}).textContent || '',
	    more: more && !more.hidden ? more.textContent : '' }; })()`
}

type legend struct {
	Shown  bool     `json:"shown"`
	Points int      `json:"points"`
	Series int      `json:"series"`
	Labels []string `json:"labels"`
	Titles []string `json:"titles"`
	Values []string `json:"values"`
	Note   string   `json:"note"`
	More   string   `json:"more"`
}

// elide is app.js's elideMiddle.
func elide(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	head := max / 2 // Math.ceil((max - 1) / 2)
	return string(r[:head]) + "…" + string(r[len(r)-(max-1-head):])
}

var (
	fullTime = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	axisTime = regexp.MustCompile(`^\d\d:\d\d(:\d\d)?$`)
)

// hover moves the real mouse over the middle of a chart's plot area.
func hover(t *testing.T, b *browser, sel string, frac float64) {
	t.Helper()
	pos := eval[[]float64](t, b, `(() => { const o = document.querySelector(`+jsString(sel+" .u-over")+`); o.scrollIntoView({ block: 'center' });
	  const r = o.getBoundingClientRect(); return [r.x + r.width * `+strconv.FormatFloat(frac, 'f', 2, 64)+`, r.y + r.height / 2]; })()`)
	if err := chromedp.Do(b.ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pos[0], pos[1])); err != nil {
		t.Fatal(err)
	}
}

// syncedTimes hovers the first chart and returns the instant each chart's
// legend reads out.
func syncedTimes(t *testing.T, b *browser, root string, charts []string) []string {
	t.Helper()
	hover(t, b, root+` .chart[data-chart="`+charts[0]+`"]`, 0.6)
	var out []string
	for _, c := range charts {
		l := waitFor(t, b, c+"'s legend reads an instant", 3*time.Second, legendJS(root+` .chart[data-chart="`+c+`"]`), func(l *legend) bool {
			return l != nil && len(l.Values) > 0 && fullTime.MatchString(l.Values[0])
		})
		out = append(out, l.Values[0])
	}
	return out
}

// withinSeconds tells whether the times (fmtTime's format) are at most d apart.
func withinSeconds(times []string, d float64) bool {
	var ts []time.Time
	for _, s := range times {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, time.Local)
		if err != nil {
			return false
		}
		ts = append(ts, v)
	}
	for _, v := range ts {
		if math.Abs(v.Sub(ts[0]).Seconds()) > d {
			return false
		}
	}
	return true
}

// badTimes lists the canvas texts that are a time or date in another format
// than the dashboard's (12-hour clocks, month/day dates, years on a short range).
func badTimes(texts []string, years bool) []string {
	other := regexp.MustCompile(`(?i)\d(am|pm)\b|\d+/\d+|[A-Z][a-z]{2} \d|\b(19|20)\d\d\b`)
	var bad []string
	for _, s := range texts {
		if other.MatchString(s) && (years || !regexp.MustCompile(`^\d{4}-\d\d-\d\d`).MatchString(s)) {
			bad = append(bad, s)
		}
	}
	return bad
}

func TestDashboardBigHosts(t *testing.T) {
	requireChromium(t)
	conn := dialBroker(t)
	id, _ := testExchange(t, conn, "bighost")
	cfg, base := consumerEnv(t, id, "STATE_DIR="+t.TempDir()+"\n")
	startLogged(t, cfg, base)

	s := newSim(t, conn, id, 500*time.Millisecond)
	// Three cores far busier than the others: 17, then 40, then 5.
	busy := map[int]float64{17: 96, 40: 88, 5: 80}
	load := func(core int, seq uint64) float64 {
		if v, ok := busy[core]; ok {
			return v + 2*math.Sin(float64(seq)/3)
		}
		return 10 + float64(core%7)*5 + 3*math.Sin(float64(seq+uint64(core))/4)
	}
	// 30 mounts: the kubelet volume fullest, then /srv/backup, /var/log, /.
	mounts := map[string]float64{kubeletVolume: 97, "/srv/backup": 93, "/var/log": 62, "/": 41}
	for i := range 26 {
		mounts[fmt.Sprintf("/srv/data/volume-%02d", i)] = 10 + float64(i)
	}
	big := func(name string, n int) *simHost {
		return &simHost{name: name, cpuBase: 30, memBase: 50, rxBase: 1_000_000, platform: "Linux", processor: "AMD EPYC 9554",
			ifName: "eth0", ncores: n, coreLoad: load, disks: mounts, devPrefix: "/dev/sda"}
	}
	s.add(big("big-64", 64))
	s.add(big("big-256", 256))
	// A host that sent one snapshot: its charts have one point each.
	s.add(&simHost{name: "lonely-01", cpuBase: 20, memBase: 30, rxBase: 1000, platform: "Linux", ifName: "eth0", disks: map[string]float64{"/": 20}})
	s.silence("lonely-01")
	s.start(t)

	b := startBrowser(t)
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: textProbe}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/#/host/big-64")); err != nil {
		t.Fatal(err)
	}
	cores := `#charts .chart[data-chart="cores"]`
	waitFor(t, b, "the 64-core chart with a few points", 20*time.Second, legendJS(cores), func(l *legend) bool { return l != nil && l.Points >= 4 })

	t.Run("64 cores: a band, the mean and the busiest three, with a legend", func(t *testing.T) {
		l := eval[legend](t, b, legendJS(cores))
		// max, mean, min and three cores (not 64 lines).
		if l.Series != 6 || !l.Shown {
			t.Fatalf("the 64-core chart has %d series, legend shown %v: want 6 (band, mean, 3 busiest) and a legend", l.Series, l.Shown)
		}
		want := []string{"max", "mean of 64", "min", "core 17", "core 40", "core 5"}
		if !slices.Equal(l.Labels[1:], want) {
			t.Errorf("legend %q, want %q", l.Labels[1:], want)
		}
		if !strings.Contains(l.Note, "64 cores") {
			t.Errorf("the chart's note %q does not say what it draws", l.Note)
		}
	})

	t.Run("hovering reads out the instant on every chart of the host", func(t *testing.T) {
		charts := []string{"cores", "cpu", "mem", "fs", "net"}
		times := syncedTimes(t, b, "#charts", charts)
		if !withinSeconds(times, 1) {
			t.Errorf("hovering the cores chart: the charts read out %q, want the same instant", times)
		}
		l := eval[legend](t, b, legendJS(cores))
		v, err := strconv.ParseFloat(strings.TrimSuffix(l.Values[4], "%"), 64)
		if err != nil || v < 90 {
			t.Errorf("hovering: core 17 reads %q, want its value (about 96%%)", l.Values[4])
		}
		if err := chromedp.Do(b.ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("30 mounts: the fullest six in the chart, +24 more", func(t *testing.T) {
		fsSel := `#charts .chart[data-chart="fs"]`
		l := eval[legend](t, b, legendJS(fsSel))
		if l.Series != 6 || !l.Shown || l.More != "+24 more" {
			t.Fatalf("file-system chart: %d series, legend %v, button %q; want 6, a legend, +24 more", l.Series, l.Shown, l.More)
		}
		want := []string{elide(kubeletVolume, 28), "/srv/backup", "/var/log", "/", "/srv/data/volume-25", "/srv/data/volume-24"}
		if !slices.Equal(l.Labels[1:], want) || l.Titles[1] != kubeletVolume {
			t.Errorf("legend %q (first title %q), want the fullest first %q, the whole path on hover", l.Labels[1:], l.Titles[1], want)
		}
		click(t, b, fsSel+` button.more`)
		l = *waitFor(t, b, "all 30 mounts", 3*time.Second, legendJS(fsSel), func(l *legend) bool { return l != nil && l.Series == 30 })
		if !l.Shown || l.More != "Show fewer" {
			t.Errorf("expanded: legend %v, button %q", l.Shown, l.More)
		}
		click(t, b, fsSel+` button.more`)
		waitFor(t, b, "six mounts again", 3*time.Second, legendJS(fsSel), func(l *legend) bool { return l != nil && l.Series == 6 })
	})

	t.Run("the file-system table: fullest first, bounded, paths elided, devices whole", func(t *testing.T) {
		tableJS := `[...document.querySelectorAll('#hv-fs tbody tr')].map((tr) => [...tr.cells].map((td) => {
		  const r = document.createRange(); r.selectNodeContents(td);
		  return { text: td.textContent, title: td.getAttribute('title') || '', lines: r.getClientRects().length }; }))`
		type cell struct {
			Text  string `json:"text"`
			Title string `json:"title"`
			Lines int    `json:"lines"`
		}
		rows := eval[[][]cell](t, b, tableJS)
		if len(rows) != 8 {
			t.Fatalf("the table shows %d rows, want the fullest 8", len(rows))
		}
		if got := eval[string](t, b, `document.getElementById('hv-fs-more').hidden ? '' : document.getElementById('hv-fs-more').textContent`); got != "+22 more" {
			t.Errorf("the table's button says %q, want +22 more", got)
		}
		if rows[0][0].Text != elide(kubeletVolume, 32) || rows[0][0].Title != kubeletVolume {
			t.Errorf("first row %+v: want the kubelet volume elided in the middle, whole in its title", rows[0][0])
		}
		click(t, b, `#hv-fs-more`)
		rows = waitFor(t, b, "all 30 rows", 3*time.Second, tableJS, func(r [][]cell) bool { return len(r) == 30 })
		prev := 101.0
		dev := regexp.MustCompile(`^/dev/sda\d+$`)
		for _, r := range rows {
			pct, err := strconv.ParseFloat(strings.TrimSuffix(r[5].Text, "%"), 64)
			if err != nil || pct > prev {
				t.Errorf("row %s at %s: not sorted by use, fullest first", r[0].Text, r[5].Text)
			}
			prev = pct
			if !dev.MatchString(r[1].Text) {
				t.Errorf("device %q", r[1].Text)
			}
			for i, c := range r {
				if c.Lines != 1 {
					t.Errorf("cell %d of %s (%q) is on %d lines, want 1", i, r[0].Text, c.Text, c.Lines)
				}
			}
		}
		click(t, b, `#hv-fs-more`)
	})

	if shots := os.Getenv("SYSMON_SCREENSHOT_DIR"); shots != "" {
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 1500)); err != nil {
			t.Fatal(err)
		}
		eval[bool](t, b, `(window.scrollTo(0, 0), true)`)
		time.Sleep(500 * time.Millisecond) // the charts take the new width
		screenshot(t, b, shots, "bighost.png")
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("256 cores: the same band, legend and hover", func(t *testing.T) {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/#/host/big-256")); err != nil {
			t.Fatal(err)
		}
		l := waitFor(t, b, "the 256-core chart", 20*time.Second, legendJS(cores), func(l *legend) bool { return l != nil && l.Points >= 2 })
		if l.Series != 6 || !l.Shown || l.Labels[2] != "mean of 256" || l.Labels[4] != "core 17" {
			t.Errorf("256 cores: %d series, legend %v %q; want 6 with a legend, mean of 256 and core 17 first", l.Series, l.Shown, l.Labels)
		}
		times := syncedTimes(t, b, "#charts", []string{"cores", "load"})
		if !withinSeconds(times, 1) {
			t.Errorf("hovering the cores chart: %q", times)
		}
		if err := chromedp.Do(b.ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("one time format: axes, facts, title", func(t *testing.T) {
		texts := eval[[]string](t, b, `window.__texts`)
		if bad := badTimes(texts, true); len(bad) > 0 {
			t.Errorf("the live charts' axes say %q: want 24-hour times without a date", bad[:min(5, len(bad))])
		}
		if !slices.ContainsFunc(texts, axisTime.MatchString) {
			t.Errorf("no axis label reads a time (HH:MM): %q", texts[:min(20, len(texts))])
		}
		facts := eval[map[string]string](t, b, `Object.fromEntries([...document.querySelectorAll('#hv-facts div')].map((d) => [d.querySelector('dt').textContent, d.querySelector('dd').textContent]))`)
		if !fullTime.MatchString(facts["Sampled at"]) {
			t.Errorf("Sampled at %q", facts["Sampled at"])
		}
		if got := eval[string](t, b, `document.getElementById('hv-seen').title`); !fullTime.MatchString(got) {
			t.Errorf("last seen's title %q", got)
		}
	})

	t.Run("a chart with one point: a window around it", func(t *testing.T) {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/#/host/lonely-01")); err != nil {
			t.Fatal(err)
		}
		eval[bool](t, b, `(window.__texts.length = 0, true)`)
		waitFor(t, b, "the CPU chart with its point", 10*time.Second, legendJS(`#charts .chart[data-chart="cpu"]`), func(l *legend) bool { return l != nil && l.Points == 1 })
		time.Sleep(300 * time.Millisecond) // drawn
		texts := eval[[]string](t, b, `window.__texts`)
		if bad := badTimes(texts, true); len(bad) > 0 {
			t.Errorf("one point's axis says %q: want times around it", bad[:min(5, len(bad))])
		}
		if n := len(slices.DeleteFunc(slices.Clone(texts), func(s string) bool { return !axisTime.MatchString(s) })); n < 2 {
			t.Errorf("one point's axis has %d time labels (%q), want a few", n, texts)
		}
	})

	t.Run("a history range: the same band, sync and time format", func(t *testing.T) {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/#/host/big-64?range=1h")); err != nil {
			t.Fatal(err)
		}
		hc := `#hist .chart[data-chart="cores"]`
		l := waitFor(t, b, "the history's cores chart", 60*time.Second, legendJS(hc), func(l *legend) bool { return l != nil && l.Points >= 2 })
		if l.Series != 6 || !l.Shown || l.Labels[1] != "all 64 cores" || l.Labels[4] != "core 17" {
			t.Errorf("history, 64 cores: %d series, legend %v %q; want the band, mean and core 17, 40, 5", l.Series, l.Shown, l.Labels)
		}
		fs := eval[legend](t, b, legendJS(`#hist .chart[data-chart="fs"]`))
		if fs.Series != 6 || fs.More != "+24 more" || fs.Titles[1] != kubeletVolume {
			t.Errorf("history, 30 mounts: %d series, button %q, first title %q", fs.Series, fs.More, fs.Titles[1])
		}
		click(t, b, `#hist .chart[data-chart="fs"] button.more`)
		waitFor(t, b, "history: all 30 mounts", 3*time.Second, legendJS(`#hist .chart[data-chart="fs"]`), func(l *legend) bool {
			return l != nil && l.Series == 30 && l.Shown && l.More == "Show fewer"
		})
		eval[bool](t, b, `(window.__texts.length = 0, window.dispatchEvent(new Event('resize')), true)`)
		times := syncedTimes(t, b, "#hist", []string{"cores", "cpu", "mem"})
		if times[0] != times[1] || times[0] != times[2] {
			t.Errorf("hovering the history's cores chart: %q, want the same instant", times)
		}
		texts := eval[[]string](t, b, `window.__texts`)
		if bad := badTimes(texts, true); len(bad) > 0 {
			t.Errorf("the history's axes say %q", bad[:min(5, len(bad))])
		}
		if err := chromedp.Do(b.ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("axe-clean in both themes, phone size", func(t *testing.T) {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/#/host/big-64")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, b, "the charts", 20*time.Second, legendJS(cores), func(l *legend) bool { return l != nil && l.Points >= 2 })
		click(t, b, `#hv-fs-more`)
		for _, dark := range []bool{false, true} {
			setDark(t, b, dark)
			runAxe(t, b, fmt.Sprintf("big host (dark %v)", dark))
		}
		setDark(t, b, false)
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		w := eval[[]int](t, b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`)
		if w[0] > w[1] {
			t.Errorf("on a phone the host view is %d px wide in %d", w[0], w[1])
		}
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	})

	if p := b.problems(t); len(p) > 0 {
		t.Errorf("console or CSP problems:\n%s", strings.Join(p, "\n"))
	}
}
