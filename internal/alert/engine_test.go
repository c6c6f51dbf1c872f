package alert

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testConfig() Config {
	c := DefaultConfig()
	c.For = time.Minute
	c.Thresholds = map[string][2]float64{CPU: {80, 95}, Memory: {85, 95}, Disk: {85, 95}}
	return c
}

// host is a live host with interval 5 s, seen at now, CPU at cpu.
func host(name string, now time.Time, cpu float64) fleet.Entry {
	nan := math.NaN()
	return fleet.Entry{Host: name, LastSeen: now, Interval: 5, Status: fleet.Live,
		Figures: fleet.Figures{CPU: cpu, Mem: 10, Swap: nan, Disk: 10, LoadPerCore: nan}}
}

func silent(e fleet.Entry, now time.Time) fleet.Entry {
	e.Status = fleet.Offline
	return e
}

func sent(r Result) []string {
	if r.Notification == nil {
		return nil
	}
	var out []string
	for _, a := range r.Notification.Alerts {
		s := a.State + " " + a.Key.String()
		if a.Reminder {
			s += " reminder"
		}
		out = append(out, s)
	}
	return out
}

func eq(t *testing.T, step string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%s: sent %q, want %q", step, got, want)
	}
}

func TestThresholdHeldForAndHysteresis(t *testing.T) {
	e := NewEngine(testConfig())
	steps := []struct {
		at   time.Duration
		cpu  float64
		want []string
	}{
		{0, 96, nil},                // over critical: pending
		{30 * time.Second, 99, nil}, // not yet ALERT_FOR
		{40 * time.Second, 50, nil}, // dipped: pending starts over
		{50 * time.Second, 96, nil}, // pending again
		{110 * time.Second, 97, []string{"firing cpu/a"}},
		{120 * time.Second, 97, nil}, // once per transition
		{130 * time.Second, 85, nil}, // between the levels: still firing
		{200 * time.Second, 79, nil}, // under warning: clearing starts
		{230 * time.Second, 81, nil}, // over warning again: clearing starts over
		{240 * time.Second, 70, nil}, //
		{290 * time.Second, 70, nil}, // 50 s under warning
		{300 * time.Second, 70, []string{"resolved cpu/a"}},
		{310 * time.Second, 70, nil},
	}
	for _, s := range steps {
		now := t0.Add(s.at)
		eq(t, s.at.String(), sent(e.Check(now, []fleet.Entry{host("a", now, s.cpu)}, true)), s.want...)
	}
}

func TestHostOfflineAndStopped(t *testing.T) {
	e := NewEngine(testConfig())
	now := t0
	a, b := host("a", now, 1), host("b", now, 1)
	eq(t, "start", sent(e.Check(now, []fleet.Entry{a, b}, true)))
	now = now.Add(time.Minute)
	b.Goodbye, b.Status = true, fleet.Offline
	eq(t, "a silent, b said goodbye", sent(e.Check(now, []fleet.Entry{silent(a, now), b}, true)),
		"firing host_offline/a", "firing host_stopped/b")
	eq(t, "again", sent(e.Check(now.Add(time.Second), []fleet.Entry{silent(a, now), b}, true)))
	now = now.Add(time.Minute)
	eq(t, "both back", sent(e.Check(now, []fleet.Entry{host("a", now, 1), host("b", now, 1)}, true)),
		"resolved host_offline/a", "resolved host_stopped/b")
}

func TestBrokerDownNoCryWolf(t *testing.T) {
	e := NewEngine(testConfig())
	now := t0
	hosts := []fleet.Entry{host("a", now, 1), host("b", now, 1)}
	e.Check(now, hosts, true)
	// The consumer's broker connection drops: every host goes offline
	// in its eyes.
	for i := 1; i <= 12; i++ {
		at := now.Add(time.Duration(i) * 10 * time.Second)
		eq(t, "broker down", sent(e.Check(at, []fleet.Entry{silent(hosts[0], at), silent(hosts[1], at)}, false)))
	}
	// Back: a sends again (its backlog), b stays silent. Within the grace
	// (2 × 10 × 5 s) nothing; after it, b is offline.
	back := now.Add(3 * time.Minute)
	eq(t, "back", sent(e.Check(back, []fleet.Entry{host("a", back, 1), silent(hosts[1], back)}, true)))
	at := back.Add(90 * time.Second)
	eq(t, "in grace", sent(e.Check(at, []fleet.Entry{host("a", at, 1), silent(hosts[1], at)}, true)))
	at = back.Add(101 * time.Second)
	eq(t, "after grace", sent(e.Check(at, []fleet.Entry{host("a", at, 1), silent(hosts[1], at)}, true)), "firing host_offline/b")
	// a, seen after the broker returned, going silent is believed at once.
	a := host("a", at, 1)
	at = at.Add(time.Minute)
	eq(t, "a silent after return", sent(e.Check(at, []fleet.Entry{silent(a, at), silent(hosts[1], at)}, true)), "firing host_offline/a")
}

func TestManySilentAtOnceIsOneGroupedNotification(t *testing.T) {
	e := NewEngine(testConfig())
	var live, gone []fleet.Entry
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		live = append(live, host(n, t0, 1))
	}
	e.Check(t0, live, true)
	at := t0.Add(time.Minute)
	for i, h := range live {
		if i < 6 {
			gone = append(gone, silent(h, at))
		} else {
			gone = append(gone, host(h.Host, at, 1))
		}
	}
	r := e.Check(at, gone, true)
	if r.Notification == nil || len(r.Notification.Alerts) != 6 || !strings.Contains(r.Notification.Group, "6 hosts went silent at once") {
		t.Fatalf("want one grouped notification of 6, got %+v", r.Notification)
	}
	// Two hosts alone are not a group.
	e2 := NewEngine(testConfig())
	e2.Check(t0, live, true)
	r = e2.Check(at, append([]fleet.Entry{silent(live[0], at), silent(live[1], at)}, live[2:]...), true)
	if r.Notification == nil || r.Notification.Group != "" {
		t.Fatalf("two silent hosts: want an ungrouped notification, got %+v", r.Notification)
	}
}

func TestSilences(t *testing.T) {
	e := NewEngine(testConfig())
	if _, err := e.AddSilence(Silence{}, t0); err == nil {
		t.Fatal("a silence of everything was accepted")
	}
	if _, err := e.AddSilence(Silence{Rule: "nope", Until: t0.Add(time.Hour)}, t0); err == nil {
		t.Fatal("an unknown rule was accepted")
	}
	if _, err := e.AddSilence(Silence{Host: "a", Until: t0}, t0); err == nil {
		t.Fatal("an expired silence was accepted")
	}
	s, err := e.AddSilence(Silence{Host: "a", Rule: CPU, Until: t0.Add(5 * time.Minute)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= 7; i++ {
		at := t0.Add(time.Duration(i) * 10 * time.Second)
		r := e.Check(at, []fleet.Entry{host("a", at, 99), host("b", at, 99)}, true)
		if i == 6 {
			eq(t, "b fires, a silenced", sent(r), "firing cpu/b")
			if len(r.Transitions) != 2 {
				t.Fatalf("both transitions are logged, got %v", r.Transitions)
			}
		}
	}
	v := e.View(t0.Add(80 * time.Second))
	if len(v.Firing) != 1 || len(v.Silenced) != 1 || v.Silenced[0].Host != "a" {
		t.Fatalf("view: %+v", v)
	}
	// The silence ends: a's firing is sent then.
	at := t0.Add(5 * time.Minute)
	eq(t, "silence over", sent(e.Check(at, []fleet.Entry{host("a", at, 99), host("b", at, 99)}, true)), "firing cpu/a")
	if e.DeleteSilence(s.ID) {
		t.Fatal("an expired silence was still there")
	}
}

func TestSilencedResolutionOfSentFiringIsSent(t *testing.T) {
	c := testConfig()
	c.For = 0
	e := NewEngine(c)
	eq(t, "fire", sent(e.Check(t0, []fleet.Entry{host("a", t0, 99)}, true)), "firing cpu/a")
	if _, err := e.AddSilence(Silence{Host: "a", Until: t0.Add(time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	// Receivers that saw the firing must see it end, silence or not.
	at := t0.Add(time.Second)
	eq(t, "resolve", sent(e.Check(at, []fleet.Entry{host("a", at, 1)}, true)), "resolved cpu/a")
}

func TestReminders(t *testing.T) {
	c := testConfig()
	c.For, c.Repeat = 0, time.Hour
	e := NewEngine(c)
	eq(t, "fire", sent(e.Check(t0, []fleet.Entry{host("a", t0, 99)}, true)), "firing cpu/a")
	at := t0.Add(59 * time.Minute)
	eq(t, "before", sent(e.Check(at, []fleet.Entry{host("a", at, 99)}, true)))
	at = t0.Add(time.Hour)
	eq(t, "reminder", sent(e.Check(at, []fleet.Entry{host("a", at, 99)}, true)), "firing cpu/a reminder")
}

func TestRestartKeepsFiringAndRemembersHosts(t *testing.T) {
	c := testConfig()
	c.For = 0
	e := NewEngine(c)
	e.Check(t0, []fleet.Entry{host("a", t0, 99), host("b", t0, 1)}, true)
	st, dirty := e.State()
	if !dirty {
		t.Fatal("a firing alert did not mark the state dirty")
	}
	// A new run: the fleet is empty at first; a is still over, b never
	// returns.
	e2 := NewEngine(c)
	e2.Restore(st)
	start := t0.Add(10 * time.Minute)
	eq(t, "blind at start", sent(e2.Check(start, nil, false)))
	eq(t, "a again", sent(e2.Check(start.Add(time.Second), []fleet.Entry{host("a", start, 99)}, true)))
	at := start.Add(101 * time.Second)
	eq(t, "b missed", sent(e2.Check(at, []fleet.Entry{host("a", at, 99)}, true)), "firing host_offline/b")
}

// fsHost has one file system at use percent, sampled at at.
func fsHost(at time.Time, use float64) fleet.Entry {
	e := host("a", at, 1)
	ts := at
	e.Figures.SampledAt = &ts
	e.Figures.Filesystems = []snapshot.Filesystem{{Mountpoint: "/var", Total: 100, Used: uint64(use), Percent: use}}
	return e
}

func TestDiskFullForecast(t *testing.T) {
	c := testConfig()
	e := NewEngine(c)
	// 1 % per 20 min from 50 %: 3 %/h, full in about 16 h: fires, once
	// it has an hour of samples.
	var got []string
	for m := 0; m <= 120; m += 5 {
		at := t0.Add(time.Duration(m) * time.Minute)
		r := e.Check(at, []fleet.Entry{fsHost(at, 50+float64(m)/20)}, true)
		if m < 60 && r.Notification != nil {
			t.Fatalf("fired at %d min, before an hour of samples", m)
		}
		got = append(got, sent(r)...)
	}
	eq(t, "filling", got, "firing disk_full_forecast/a//var")
	// Flat for a long while: the line flattens, the alert resolves.
	got = nil
	for m := 125; m <= 125+8*60; m += 5 {
		at := t0.Add(time.Duration(m) * time.Minute)
		got = append(got, sent(e.Check(at, []fleet.Entry{fsHost(at, 56)}, true))...)
	}
	eq(t, "flat", got, "resolved disk_full_forecast/a//var")
	// A steady file system never fires.
	e2 := NewEngine(c)
	for m := 0; m <= 600; m += 5 {
		at := t0.Add(time.Duration(m) * time.Minute)
		if r := e2.Check(at, []fleet.Entry{fsHost(at, 90)}, true); r.Notification != nil {
			t.Fatalf("steady file system fired: %v", sent(r))
		}
	}
}

func TestFitIsExactLeastSquares(t *testing.T) {
	f := &fit{}
	// y = 20 + 0.001 t over 3 h, across buckets of 10 min.
	for s := 0; s <= 3*3600; s += 60 {
		ts := 1.7e9 + float64(s)
		f.add(ts, 20+0.001*float64(s), 600, 6*3600)
	}
	h, ok := f.hoursToFull(10, 3600)
	want := (100 - (20 + 0.001*3*3600)) / 0.001 / 3600
	if !ok || math.Abs(h-want) > 1e-6 {
		t.Fatalf("hours to full %v (ok %v), want %v", h, ok, want)
	}
}

func TestOfflineHostFiguresNeitherFireNorHold(t *testing.T) {
	c := testConfig()
	c.For = 0
	e := NewEngine(c)
	eq(t, "fire", sent(e.Check(t0, []fleet.Entry{host("a", t0, 99)}, true)), "firing cpu/a")
	at := t0.Add(time.Minute)
	eq(t, "offline", sent(e.Check(at, []fleet.Entry{silent(host("a", t0, 99), at)}, true)), "firing host_offline/a", "resolved cpu/a")
}

func TestExpiredHostIsForgottenWithItsAlerts(t *testing.T) {
	c := testConfig()
	c.Expire = time.Hour
	e := NewEngine(c)
	a := host("a", t0, 1)
	e.Check(t0, []fleet.Entry{a}, true)
	at := t0.Add(time.Minute)
	eq(t, "offline", sent(e.Check(at, []fleet.Entry{silent(a, at)}, true)), "firing host_offline/a")
	// The fleet forgets it (HOST_EXPIRE): its alert ends, saying why.
	at = t0.Add(2 * time.Hour)
	r := e.Check(at, nil, true)
	eq(t, "forgotten", sent(r), "resolved host_offline/a")
	if !strings.Contains(r.Notification.Alerts[0].Summary, "HOST_EXPIRE") {
		t.Fatalf("summary %q", r.Notification.Alerts[0].Summary)
	}
	if st, _ := e.State(); len(st.Hosts) != 0 {
		t.Fatalf("still remembered: %v", st.Hosts)
	}
}

// An outage between two checks is not missed: the connection's own time
// of change starts the grace.
func TestBrokerBlipBetweenChecks(t *testing.T) {
	e := NewEngine(testConfig())
	a := host("a", t0, 1)
	e.check(t0, []fleet.Entry{a}, true, t0.Add(-time.Hour))
	// Down and up again between checks, just before a goes offline in the
	// consumer's eyes (its snapshots were queued meanwhile).
	at := t0.Add(time.Minute)
	eq(t, "after blip", sent(e.check(at, []fleet.Entry{silent(a, at)}, true, at.Add(-time.Second))))
	at = at.Add(101 * time.Second)
	eq(t, "after grace", sent(e.check(at, []fleet.Entry{silent(a, at)}, true, t0.Add(time.Minute-time.Second))), "firing host_offline/a")
}

// TestGraceFollowsTheOfflineFloor: the consumer's blindness is excused for
// GraceFactor times the offline time the fleet applies, floor included (a
// 1 s publisher is offline after 60 s, not 10 s, at the defaults).
func TestGraceFollowsTheOfflineFloor(t *testing.T) {
	c := testConfig()
	c.OfflineAfter, c.GraceFactor = 10, 2
	for _, tc := range []struct {
		floor    time.Duration
		interval float64
		want     time.Duration
	}{{0, 1, 20 * time.Second}, {60 * time.Second, 1, 120 * time.Second}, {60 * time.Second, 30, 600 * time.Second}} {
		c.OfflineFloor = tc.floor
		if got := NewEngine(c).grace(tc.interval); got != tc.want {
			t.Errorf("floor %v, interval %vs: grace %v, want %v", tc.floor, tc.interval, got, tc.want)
		}
	}
}
