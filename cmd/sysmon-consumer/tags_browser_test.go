package main

// Host tags and temperatures (issue 14, point 9): tags reach the consumer
// through the real broker, filter the overview from the search box and the
// address, show on tiles and in the host view; temperatures show as the
// hottest on the tile and a table in the host view; a hostile tag is
// refused and counted; a host without sensors is not degraded.

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestTagsAndTemperaturesBrowser(t *testing.T) {
	requireChromium(t)
	conn := dialBroker(t)
	id, _ := testExchange(t, conn, "tags")
	cfg, base := consumerEnv(t, id, "")
	startLogged(t, cfg, base)

	s := newSim(t, conn, id, 300*time.Millisecond)
	s.start(t)
	host := func(name string, tags map[string]string, temps []any) *simHost {
		return &simHost{name: name, cpuBase: 20, memBase: 40, rxBase: 1000, platform: "Linux", processor: "Xeon",
			ifName: "eth0", disks: map[string]float64{"/": 30}, tags: tags, temps: temps}
	}
	s.add(host("db-1", map[string]string{"env": "prod", "role": "db"}, []any{
		map[string]any{"sensor": "coretemp_package_id_0", "celsius": 85.0, "high": 80.0, "critical": 100.0},
		map[string]any{"sensor": "nvme_composite", "celsius": 41.5},
		map[string]any{"sensor": "acpitz", "celsius": 101.0, "critical": 100.0},
	}))
	s.add(host("web-1", map[string]string{"env": "prod", "role": "web"}, nil))
	s.add(host("web-2", map[string]string{"env": "Staging", "role": "web"}, nil))
	s.add(host("vm-1", nil, nil))
	// A publisher that does not check its tags: refused and counted, like
	// any other bad field, never shown.
	evil := snapshotOf(host("evil-1", nil, nil), 1, time.Now(), false)
	evil["tags"] = map[string]string{"env": "<img src=x onerror=alert(1)>"}
	body, _ := json.Marshal(evil)
	s.raw(body, "")

	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	b := startBrowser(t)
	// A bookmarked filter: the address carries it.
	if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/?q=tag:env=prod")); err != nil {
		t.Fatal(err)
	}
	gridJS := `[...document.querySelectorAll('#tiles .tile')].map((e) => e.getAttribute('data-host')).sort()`
	waitFor(t, b, "the prod hosts from ?q=tag:env=prod", 10*time.Second, gridJS, func(g []string) bool {
		return slices.Equal(g, []string{"db-1", "web-1"})
	})
	if v := eval[string](t, b, `document.getElementById('filter').value`); v != "tag:env=prod" {
		t.Errorf("the search box says %q, want the address's tag:env=prod", v)
	}

	t.Run("the search box filters by tag and name, and keeps it in the address", func(t *testing.T) {
		setQ := func(q string) {
			eval[bool](t, b, `(() => { const f = document.getElementById('filter'); f.value = `+jsString(q)+`;
			  f.dispatchEvent(new Event('input')); return true; })()`)
		}
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"tag:role=web", []string{"web-1", "web-2"}},
			{"tag:env=staging", []string{"web-2"}}, // values compare ignoring case
			{"tag:role=web 2", []string{"web-2"}},  // and a part of the name
			{"tag:role", []string{"db-1", "web-1", "web-2"}},
			{"tag:nope=x", nil},
			{"", []string{"db-1", "vm-1", "web-1", "web-2"}},
		} {
			setQ(c.q)
			g := waitFor(t, b, c.q, 5*time.Second, gridJS, func(g []string) bool { return slices.Equal(g, c.want) })
			if !slices.Equal(g, c.want) {
				t.Errorf("%q: %v, want %v", c.q, g, c.want)
			}
		}
		setQ("tag:role=web")
		if got := eval[string](t, b, `location.search`); got != "?q=tag%3Arole%3Dweb" {
			t.Errorf("the address keeps %q, want ?q=tag%%3Arole%%3Dweb", got)
		}
		setQ("")
		if got := eval[string](t, b, `location.search`); got != "" {
			t.Errorf("an empty filter leaves %q in the address", got)
		}
	})

	t.Run("grouping by a tag: a heading per value, hosts without it last, kept in prefs", func(t *testing.T) {
		keys := waitFor(t, b, "the group menu", 5*time.Second, `[...document.querySelectorAll('#group option')].map((o) => o.value)`,
			func(k []string) bool { return len(k) == 3 })
		if !slices.Equal(keys, []string{"", "env", "role"}) {
			t.Errorf("group menu %q, want none, env, role", keys)
		}
		eval[bool](t, b, `(() => { const g = document.getElementById('group'); g.value = 'env'; g.dispatchEvent(new Event('change')); return true; })()`)
		layoutJS := `[...document.getElementById('tiles').children].map((e) => e.classList.contains('group-head') ? '# ' + e.textContent : e.getAttribute('data-host'))`
		want := []string{"# env=Staging (1)", "web-2", "# env=prod (2)", "db-1", "web-1", "# no env (1)", "vm-1"}
		got := waitFor(t, b, "groups by env", 5*time.Second, layoutJS, func(g []string) bool { return slices.Equal(g, want) })
		if !slices.Equal(got, want) {
			t.Errorf("grouped by env: %q, want %q", got, want)
		}
		if err := chromedp.Do(b.ctx, chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, b, "the grouping again after a reload", 10*time.Second, layoutJS, func(g []string) bool { return slices.Equal(g, want) })
		runAxe(t, b, "overview grouped by tag")
		eval[bool](t, b, `(() => { const g = document.getElementById('group'); g.value = ''; g.dispatchEvent(new Event('change')); return true; })()`)
		waitFor(t, b, "no groups", 5*time.Second, `document.querySelectorAll('#tiles .group-head').length`, func(n int) bool { return n == 0 })
	})

	t.Run("tiles show tags and the hottest sensor; no sensors is not degraded", func(t *testing.T) {
		type tile struct {
			Tags     []string `json:"tags"`
			Temp     string   `json:"temp"`
			TempShow bool     `json:"tempShown"`
			Degraded string   `json:"degraded"`
			Class    string   `json:"class"`
		}
		tileJS := func(h string) string {
			return `(() => { const e = document.querySelector('.tile[data-host="` + h + `"]');
			  const row = e.querySelector('[data-metric="temp"]').parentElement;
			  return { tags: [...e.querySelectorAll('.t-tags .tag')].map((x) => x.textContent),
			    temp: e.querySelector('[data-metric="temp"]').textContent, tempShown: !row.hidden && getComputedStyle(row).display !== 'none',
			    degraded: e.getAttribute('data-degraded'), class: row.className }; })()`
		}
		db := waitFor(t, b, "db-1's tile", 5*time.Second, tileJS("db-1"), func(x tile) bool { return x.TempShow })
		if !slices.Equal(db.Tags, []string{"env=prod", "role=db"}) || db.Temp != "▲ 101.0 °C acpitz" || db.Class != "m-row m-crit" {
			t.Errorf("db-1's tile: %+v, want tags env=prod role=db and ▲ 101.0 °C acpitz, marked critical", db)
		}
		vm := eval[tile](t, b, tileJS("vm-1"))
		if len(vm.Tags) != 0 || vm.TempShow || vm.Degraded != "false" {
			t.Errorf("vm-1 (no tags, no sensors): %+v, want nothing shown and not degraded", vm)
		}
		runAxe(t, b, "overview with tags")
	})

	t.Run("the host view lists the sensors with their marks; a tag filters the overview", func(t *testing.T) {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/#/host/db-1")); err != nil {
			t.Fatal(err)
		}
		rowsJS := `[...document.querySelectorAll('#hv-temps tbody tr')].map((r) => [...r.cells].map((c) => c.textContent + (c.className.includes('m-') ? ' [' + c.className + ']' : '')).join(' | '))`
		rows := waitFor(t, b, "db-1's temperatures", 10*time.Second, rowsJS, func(r []string) bool { return len(r) == 3 })
		want := []string{
			"acpitz | 101.0 °C ▲ critical [num m-crit] | – | 100.0 °C",
			"coretemp_package_id_0 | 85.0 °C ◆ high [num m-warn] | 80.0 °C | 100.0 °C",
			"nvme_composite | 41.5 °C | – | –",
		}
		if !slices.Equal(rows, want) {
			t.Errorf("temperatures table:\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
		}
		if tags := eval[[]string](t, b, `[...document.querySelectorAll('#hv-tags button')].map((x) => x.textContent)`); !slices.Equal(tags, []string{"env=prod", "role=db"}) {
			t.Errorf("host view tags %v", tags)
		}
		runAxe(t, b, "host view with tags and temperatures")
		setDark(t, b, true)
		runAxe(t, b, "host view with tags and temperatures, dark")
		setDark(t, b, false)
		click(t, b, `#hv-tags button:nth-child(2)`)
		waitFor(t, b, "the overview filtered by role=db", 5*time.Second, gridJS, func(g []string) bool { return slices.Equal(g, []string{"db-1"}) })
		if v := eval[string](t, b, `document.getElementById('filter').value + ' ' + location.search`); v != "tag:role=db ?q=tag%3Arole%3Ddb" {
			t.Errorf("after the tag's click: %q", v)
		}
		if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/#/host/vm-1")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, b, "vm-1's host view", 10*time.Second, `document.getElementById('hv-name').textContent === 'vm-1' && !document.getElementById('hv-body').hidden`, func(ok bool) bool { return ok })
		if shown := eval[bool](t, b, `!document.getElementById('hv-temps-card').hidden || !document.getElementById('hv-tags').hidden`); shown {
			t.Error("vm-1 (no sensors, no tags) shows a temperatures card or tags")
		}
	})

	t.Run("the API and /metrics/fleet carry the tags; the hostile one was refused and counted", func(t *testing.T) {
		var e struct {
			Figures struct {
				Tags  map[string]string `json:"tags"`
				Temp  *float64          `json:"temp"`
				Temps []struct {
					Sensor string `json:"sensor"`
				} `json:"temps"`
			} `json:"figures"`
		}
		if err := json.Unmarshal([]byte(get("/api/hosts?host=db-1")), &e); err != nil {
			t.Fatal(err)
		}
		if e.Figures.Tags["role"] != "db" || e.Figures.Temp == nil || *e.Figures.Temp != 101 || len(e.Figures.Temps) != 3 {
			t.Errorf("/api/hosts?host=db-1: %+v", e.Figures)
		}
		m := get("/metrics/fleet")
		for _, want := range []string{`sysmon_host_tag{host="web-2",key="env",value="Staging"} 1`,
			`sysmon_temperature_celsius{host="db-1",sensor="nvme_composite"} 41.5`} {
			if !strings.Contains(m, want) {
				t.Errorf("/metrics/fleet has no %s", want)
			}
		}
		if hosts, _ := apiHosts(base); slices.Contains(hosts, "evil-1") {
			t.Error("the host with a hostile tag was accepted")
		}
		if !strings.Contains(get("/metrics"), `sysmon_consumer_snapshots_invalid_total{reason="invalid"} 1`) {
			t.Error("the hostile tag was not counted as an invalid snapshot")
		}
	})
	if p := b.problems(t); len(p) > 0 {
		t.Errorf("console or CSP problems: %v", p)
	}
}
