package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAlertsBrowser: in real Chromium, a host held over the CPU critical
// level shows in the header badge, on its tile and on the alerts page,
// whose silence button moves it to "silenced" through the guarded POST.
func TestAlertsBrowser(t *testing.T) {
	requireChromium(t)
	conn := dialBroker(t)
	exchange, _ := testExchange(t, conn, "alerts")
	cfg, base := consumerEnv(t, exchange, "ALERT_FOR=1s\nALERT_CHECK_INTERVAL=200ms\nSTATE_DIR="+t.TempDir()+"\n")
	startLogged(t, cfg, base)

	s := newSim(t, conn, exchange, 250*time.Millisecond)
	simCtx, stopSim := context.WithCancel(context.Background())
	simDone := make(chan struct{})
	go func() { defer close(simDone); s.run(simCtx) }()
	t.Cleanup(func() { stopSim(); <-simDone })
	s.add(&simHost{name: "hot-01", cpuBase: 100, memBase: 30, rxBase: 1000, platform: "Linux", ifName: "eth0",
		disks: map[string]float64{"/": 10}})
	s.add(&simHost{name: "calm-01", cpuBase: 10, memBase: 30, rxBase: 1000, platform: "Linux", ifName: "eth0",
		disks: map[string]float64{"/": 10}})

	b := startBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("open the dashboard: %v", err)
	}
	waitFor(t, b, "the header badge counts the firing alert", 20*time.Second,
		`document.getElementById('alerts-count').textContent`, func(v string) bool { return v == "1" })
	waitFor(t, b, "a badge on the hot tile only", 10*time.Second,
		`[...document.querySelectorAll('#tiles [data-host]')].map(t => t.getAttribute('data-host') + ':' + !!t.querySelector('.t-alert')).sort().join(',')`,
		func(v string) bool { return v == "calm-01:false,hot-01:true" })

	if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/#/alerts")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "the alerts page lists the firing alert", 10*time.Second,
		`document.getElementById('overview').hidden && !document.getElementById('alertsview').hidden &&
		 [...document.querySelectorAll('#alerts-firing tbody tr')].map(r => r.dataset.rule + '/' + r.dataset.host).join(',')`,
		func(v string) bool { return v == "cpu/hot-01" })
	eval[bool](t, b, `document.querySelector('#alerts-firing tbody tr button.silence').click(), true`)
	waitFor(t, b, "silenced, through the guarded POST", 10*time.Second,
		`[...document.querySelectorAll('#alerts-silenced tbody tr')].map(r => r.dataset.rule + '/' + r.dataset.host).join(',') + '|' +
		 document.querySelectorAll('#alerts-silences tbody tr[data-id]').length + '|' + document.getElementById('alerts-count').textContent`,
		func(v string) bool { return v == "cpu/hot-01|1|0" })
	// Delete the silence: it fires again (shown; its notification would go now).
	eval[bool](t, b, `document.querySelector('#alerts-silences tbody tr[data-id] button').click(), true`)
	waitFor(t, b, "the silence deleted", 10*time.Second,
		`document.querySelectorAll('#alerts-silences tbody tr[data-id]').length + '|' + document.getElementById('alerts-count').textContent`,
		func(v string) bool { return v == "0|1" })
	// Back to the fleet: the page hides, the overview shows.
	if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/#/")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "the overview back", 10*time.Second,
		`document.getElementById('alertsview').hidden && !document.getElementById('overview').hidden`, func(v bool) bool { return v })
	if p := b.problems(t); len(p) > 0 {
		t.Fatalf("console errors or CSP violations:\n%v", p)
	}
}
