package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// History (issue 12) on the real daemons and the real broker: the store in
// STATE_DIR, the API, restarts, late snapshots, SIGKILL.

// timedSnapshot is a valid snapshot of a test host sampled at at, with cpu
// as its CPU figure (the tests recognise their points by it).
func timedSnapshot(host, instance string, seq uint64, at time.Time, cpu float64) []byte {
	s := &snapshot.Snapshot{Timestamp: at.Format("2006-01-02T15:04:05.000000"), CPUPercent: cpu,
		Memory: snapshot.Memory{Total: 8 << 30, Available: 4 << 30, Percent: 50}, Platform: "Linux",
		Schema: 1, Host: host, InstanceID: instance, Seq: seq, Time: &at, IntervalSeconds: 1,
		CPUPerCore: []float64{cpu, cpu}, Filesystems: []snapshot.Filesystem{{Mountpoint: "/", Total: 100, Used: 40, Free: 60, Percent: 40}}}
	b, err := snapshot.Encode(s)
	if err != nil {
		panic(err)
	}
	return b
}

// series is the part of GET /api/hosts/{host}/history the tests read.
type series struct {
	Host    string  `json:"host"`
	Tier    string  `json:"tier"`
	Step    float64 `json:"step_seconds"`
	T       []int64 `json:"t"`
	Figures map[string]struct {
		Mean []*float64 `json:"mean"`
		Min  []*float64 `json:"min"`
		Max  []*float64 `json:"max"`
	} `json:"figures"`
}

// points returns the series' times (unix ms) that carry a CPU value.
func (s *series) points() []int64 {
	var out []int64
	for i, t := range s.T {
		if cpu := s.Figures["cpu"].Mean; i < len(cpu) && cpu[i] != nil {
			out = append(out, t)
		}
	}
	return out
}

func queryHistory(t *testing.T, d *Daemon, host string, from, to time.Time) (int, series) {
	t.Helper()
	var s series
	code := d.GetJSON(t, fmt.Sprintf("/api/history?host=%s&from=%d&to=%d", url.QueryEscape(host), from.Unix(), to.Unix()+1), &s)
	return code, s
}

func historyEnv(t *testing.T, state string) Env {
	return Env{"RABBITMQ_URL": brokertest.Shared(t), "EXCHANGE_NAME": brokertest.Name(t, "ex"),
		"QUEUE_NAME": brokertest.Name(t, "q"), "STATE_DIR": state}
}

// TestHistorySurvivesRestart: snapshots filed at their sampling time are in
// the history after `systemctl restart` (SIGTERM, start), the host is
// back on the dashboard with its real last-seen time and its chart, and
// its "online" event is listed.
func TestHistorySurvivesRestart(t *testing.T) {
	env := historyEnv(t, t.TempDir())
	cons := Start(t, "sysmon-consumer", env)
	cons.WaitReady(t, 30*time.Second)
	pub := dialPublisher(t, brokertest.Shared(t), env["EXCHANGE_NAME"])
	host := brokertest.Name(t, "host")
	base := time.Now().Add(-20 * time.Second).Truncate(time.Second)
	var want []int64
	for i := range 10 {
		at := base.Add(time.Duration(i) * time.Second)
		pub.publish(t, env["EXCHANGE_NAME"], "", timedSnapshot(host, "i1", uint64(i+1), at, float64(10+i)))
		want = append(want, at.UnixMilli())
	}
	waitFor(t, 15*time.Second, "the history to hold the 10 snapshots", func() bool {
		_, s := queryHistory(t, cons, host, base.Add(-time.Minute), time.Now())
		return len(s.points()) == 10
	})
	if code, _ := cons.Stop(t); code != 0 {
		t.Fatalf("consumer exit %d", code)
	}

	restartAt := time.Now()
	cons = Start(t, "sysmon-consumer", env)
	cons.WaitReady(t, 30*time.Second)
	code, s := queryHistory(t, cons, host, base.Add(-time.Minute), time.Now())
	if got := s.points(); code != 200 || !slices.Equal(got, want) || s.Tier != "raw" {
		t.Fatalf("after restart: %d, tier %s, points %v, want %v", code, s.Tier, got, want)
	}
	if cpu := s.Figures["cpu"].Mean; *cpu[len(cpu)-1] != 19 {
		t.Fatalf("the last point's CPU is %v, want 19", *cpu[len(cpu)-1])
	}
	// The dashboard's view: the host is there before it sends again, with
	// its chart.
	var entry struct {
		Host     string            `json:"host"`
		LastSeen time.Time         `json:"last_seen"`
		History  []json.RawMessage `json:"history"`
	}
	if code := cons.GetJSON(t, "/api/hosts?host="+url.QueryEscape(host), &entry); code != 200 || len(entry.History) < 10 {
		t.Fatalf("/api/hosts?host= after restart: %d, %d history points, want the host with its 10", code, len(entry.History))
	}
	if !entry.LastSeen.Before(restartAt) {
		t.Fatalf("restored host last seen %v, after the restart (%v): it would show live though it sent nothing since", entry.LastSeen, restartAt)
	}
	var evs struct {
		Events []struct{ Host, Kind string } `json:"events"`
	}
	if code := cons.GetJSON(t, "/api/events?host="+url.QueryEscape(host), &evs); code != 200 || len(evs.Events) == 0 || evs.Events[len(evs.Events)-1].Kind != "online" {
		t.Fatalf("events: %d %+v, want the host's online event", code, evs)
	}
	// The history's metrics are on /metrics, valid for promtool.
	metricsBody := scrape(t, cons, "/metrics")
	for _, want := range []string{"sysmon_consumer_history_samples_written_total", "sysmon_consumer_history_disk_full 0", "sysmon_consumer_history_bytes"} {
		if !bytes.Contains(metricsBody, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	check := exec.Command(promtool(t), "check", "metrics")
	check.Stdin = bytes.NewReader(metricsBody)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics rejects the consumer's /metrics with history: %v\n%s", err, out)
	}
	// The host's agent restarts (a new instance id) and says goodbye: one
	// event each, in order, in the fleet's events too.
	pub.publish(t, env["EXCHANGE_NAME"], "", timedSnapshot(host, "i2", 1, time.Now(), 5))
	bye := timedSnapshot(host, "i2", 2, time.Now(), 5)
	bye = append(bye[:len(bye)-1], []byte(`,"goodbye":true}`)...)
	pub.publish(t, env["EXCHANGE_NAME"], "", bye)
	var last []string
	defer func() { t.Logf("events of the host, newest first: %v", last) }()
	waitFor(t, 10*time.Second, "restart and goodbye events", func() bool {
		var all struct {
			Events []struct{ Host, Kind string } `json:"events"`
		}
		cons.GetJSON(t, "/api/events", &all)
		var kinds []string
		for _, e := range all.Events {
			if e.Host == host {
				kinds = append(kinds, e.Kind)
			}
		}
		last = kinds
		// Newest first: goodbye, restart (and online before it if the
		// host had gone stale during the restart), the first online.
		return slices.Equal(kinds, []string{"goodbye", "restart", "online"}) || slices.Equal(kinds, []string{"goodbye", "online", "restart", "online"})
	})
	// Forgotten at a user's request (a retired machine): its history goes
	// too, and it does not come back at the next start.
	if code, body := cons.Do(t, http.MethodDelete, "/api/hosts?host="+url.QueryEscape(host)); code != http.StatusNoContent {
		t.Fatalf("DELETE /api/hosts?host=: %d %s", code, body)
	}
	if code, _ := queryHistory(t, cons, host, base.Add(-time.Minute), time.Now()); code != http.StatusNotFound {
		t.Fatalf("history of a forgotten host: %d, want 404", code)
	}
	cons.Stop(t)
	cons = Start(t, "sysmon-consumer", env)
	cons.WaitReady(t, 30*time.Second)
	if code, _ := cons.Get(t, "/api/hosts?host="+url.QueryEscape(host)); code != http.StatusNotFound {
		t.Fatalf("a forgotten host is back after a restart: %d", code)
	}
}

// TestHistoryLateSnapshots: snapshots delivered after an outage (from a
// publisher's outbox) land at their sampling time, and a period without
// data stays a gap (a null point), never an interpolated line; a sampling
// time in the future is filed at receipt.
func TestHistoryLateSnapshots(t *testing.T) {
	env := historyEnv(t, t.TempDir())
	cons := Start(t, "sysmon-consumer", env)
	cons.WaitReady(t, 30*time.Second)
	pub := dialPublisher(t, brokertest.Shared(t), env["EXCHANGE_NAME"])
	host := brokertest.Name(t, "late")
	now := time.Now().Truncate(time.Second)
	early, late := now.Add(-40*time.Minute), now.Add(-10*time.Minute)
	seq := uint64(0)
	for _, start := range []time.Time{early, late} {
		for i := range 5 {
			seq++
			pub.publish(t, env["EXCHANGE_NAME"], "", timedSnapshot(host, "i1", seq, start.Add(time.Duration(i)*time.Second), 50))
		}
	}
	seq++
	future := now.Add(3 * time.Hour)
	pub.publish(t, env["EXCHANGE_NAME"], "", timedSnapshot(host, "i1", seq, future, 77))
	var s series
	waitFor(t, 15*time.Second, "11 points in the history", func() bool {
		_, s = queryHistory(t, cons, host, now.Add(-45*time.Minute), now.Add(time.Minute))
		return len(s.points()) == 11
	})
	pts := s.points()
	for i := range 5 {
		if pts[i] != early.Add(time.Duration(i)*time.Second).UnixMilli() || pts[5+i] != late.Add(time.Duration(i)*time.Second).UnixMilli() {
			t.Fatalf("points %v are not at their sampling times (from %v and %v)", pts, early, late)
		}
	}
	if last := time.UnixMilli(pts[10]); last.After(time.Now().Add(time.Minute)) || last.Before(now.Add(-time.Minute)) {
		t.Fatalf("a snapshot from 3 hours in the future was filed at %v, want its receipt (about %v)", last, now)
	}
	// Between the two bursts, 30 minutes without data: a null point.
	gap := false
	cpu := s.Figures["cpu"].Mean
	for i, ts := range s.T {
		if ts > pts[4] && ts < pts[5] && cpu[i] == nil {
			gap = true
		}
		if ts > pts[4] && ts < pts[5] && cpu[i] != nil {
			t.Fatalf("a value at %v, inside the gap", time.UnixMilli(ts))
		}
	}
	if !gap {
		t.Fatalf("no null point between the bursts: the chart would draw a line across 30 minutes without data (t %v)", s.T)
	}
}

// TestFaultHistorySIGKILL: the consumer killed with SIGKILL at random
// moments, five times, while snapshots arrive at 20/s: the store opens each
// time, and every snapshot is in the history but those received within the
// last second before a kill (the bound; the log is written every
// 250 ms).
func TestFaultHistorySIGKILL(t *testing.T) {
	faultTest(t)
	env := historyEnv(t, t.TempDir())
	cons := Start(t, "sysmon-consumer", env)
	cons.WaitReady(t, 30*time.Second)
	pub := dialPublisher(t, brokertest.Shared(t), env["EXCHANGE_NAME"])
	host := brokertest.Name(t, "kill")
	start := time.Now()

	var mu sync.Mutex
	var sent []int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for seq := uint64(1); ; seq++ {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			at := time.Now().Truncate(time.Millisecond)
			dc, err := pub.ch.PublishWithDeferredConfirm(env["EXCHANGE_NAME"], "", false, false, amqpPersistent(timedSnapshot(host, "i1", seq, at, float64(seq%100))))
			if err != nil || !dc.Wait() {
				t.Errorf("publish %d: %v", seq, err)
				return
			}
			mu.Lock()
			sent = append(sent, at.UnixMilli())
			mu.Unlock()
		}
	}()
	var kills []time.Time
	var restarts []time.Duration
	for range 5 {
		time.Sleep(time.Duration(1000+rand.IntN(1500)) * time.Millisecond)
		kills = append(kills, time.Now())
		cons.Kill()
		at := time.Now()
		cons = Start(t, "sysmon-consumer", env)
		cons.WaitReady(t, 30*time.Second)
		restarts = append(restarts, time.Since(at))
		if out := cons.Output(); logCount(out, "running WITHOUT history") > 0 {
			t.Fatalf("the store did not open after SIGKILL:\n%s", out)
		}
	}
	time.Sleep(time.Second)
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	// The backlog is filed once the history stops growing (3 s alike).
	var s series
	last, same := -1, 0
	waitFor(t, 40*time.Second, "the backlog to be filed", func() bool {
		time.Sleep(time.Second)
		_, s = queryHistory(t, cons, host, start.Add(-time.Second), time.Now())
		if n := len(s.points()); n == last {
			same++
		} else {
			last, same = n, 0
		}
		return same >= 3
	})
	have := map[int64]int{}
	for _, p := range s.points() {
		have[p]++
	}
	lost, unexplained, dups := 0, 0, 0
	var worst time.Duration // the longest a lost sample came before its kill
	for _, ts := range sent {
		if have[ts] > 1 {
			dups += have[ts] - 1
		}
		if have[ts] > 0 {
			continue
		}
		lost++
		explained := false
		for _, k := range kills {
			if ts <= k.UnixMilli() && ts >= k.Add(-time.Second).UnixMilli() {
				explained = true
				worst = max(worst, k.Sub(time.UnixMilli(ts)))
			}
		}
		if !explained {
			unexplained++
			t.Errorf("the snapshot sampled at %v is not in the history, and was not received within 1 s before a kill (kills at %v)", time.UnixMilli(ts), kills)
		}
	}
	slices.Sort(restarts)
	record(t, faultRow{Fault: "19. consumer SIGKILL ×5 while history is written (20 snapshots/s)", Recovery: fmt.Sprintf("store open, ready ≤ %s", secs(restarts[len(restarts)-1])),
		Confirmed: len(sent), Delivered: len(sent) - lost, Lost: unexplained, Dups: dups,
		Note: fmt.Sprintf("%d samples in the history; %d lost, each sampled at most %s before a kill (the log is written every 250 ms); %d samples stored twice (redelivered after the kill)", len(s.points()), lost, worst.Round(10*time.Millisecond), dups)})
}

func amqpPersistent(body []byte) amqp.Publishing {
	return amqp.Publishing{Body: body, DeliveryMode: amqp.Persistent}
}

// TestFaultHistoryDiskFull: the consumer's files may not grow (a real
// EFBIG: RLIMIT_FSIZE set on the running daemon, as a full disk fails its
// writes): history writes stop with one log line, /api/status and /metrics
// say so, the live dashboard keeps every snapshot; once the limit is lifted
// writes resume at the next retry and the history goes on.
func TestFaultHistoryDiskFull(t *testing.T) {
	faultTest(t)
	env := historyEnv(t, t.TempDir())
	cons := Start(t, "sysmon-consumer", env)
	cons.WaitReady(t, 30*time.Second)
	pub := dialPublisher(t, brokertest.Shared(t), env["EXCHANGE_NAME"])
	host := brokertest.Name(t, "full")
	seq := uint64(0)
	var lastAt time.Time
	send := func(n int) {
		for range n {
			seq++
			// Each sample at its own millisecond: the store keeps one
			// sample per host and millisecond (a redelivery), and a
			// fast loop sends several in one.
			at := time.Now()
			if !at.After(lastAt.Add(time.Millisecond)) {
				at = lastAt.Add(time.Millisecond)
			}
			lastAt = at
			pub.publish(t, env["EXCHANGE_NAME"], "", timedSnapshot(host, "i1", seq, at, float64(seq%100)))
		}
	}
	type status struct {
		History struct {
			DiskFull    bool   `json:"disk_full"`
			WriteErrors uint64 `json:"write_errors"`
			LastError   string `json:"last_error"`
		} `json:"history"`
	}
	st := func() status {
		var s status
		cons.GetJSON(t, "/api/status", &s)
		return s
	}
	send(5)
	waitFor(t, 10*time.Second, "the first samples written", func() bool {
		_, s := queryHistory(t, cons, host, time.Now().Add(-time.Minute), time.Now())
		return len(s.points()) == 5
	})
	prlimit := func(limit string) {
		t.Helper()
		if out, err := exec.Command("prlimit", "--pid", fmt.Sprint(cons.cmd.Process.Pid), "--fsize="+limit).CombinedOutput(); err != nil {
			t.Fatalf("prlimit: %v: %s", err, out)
		}
	}
	prlimit("4096:unlimited") // every file is at least that big already
	full := time.Now()
	var s status
	waitFor(t, 20*time.Second, "disk_full on /api/status", func() bool {
		send(1)
		s = st()
		return s.History.DiskFull
	})
	detect := time.Since(full)
	if s.History.LastError == "" {
		t.Errorf("disk full without the error on /api/status: %+v", s)
	}
	if _, body := cons.Get(t, "/metrics"); !strings.Contains(string(body), "sysmon_consumer_history_disk_full 1\n") {
		t.Errorf("/metrics does not say the disk is full")
	}
	// The live dashboard takes every snapshot meanwhile.
	send(20)
	var entry struct {
		Figures struct {
			Seq uint64 `json:"seq"`
		} `json:"figures"`
	}
	waitFor(t, 10*time.Second, "the live view to follow", func() bool {
		return cons.GetJSON(t, "/api/hosts?host="+url.QueryEscape(host), &entry) == 200 && entry.Figures.Seq == seq
	})
	if n := logCount(cons.Output(), "history writes stopped"); n != 1 {
		t.Errorf("%d log lines about the full disk, want 1", n)
	}
	prlimit("unlimited:unlimited")
	freed := time.Now()
	waitFor(t, 45*time.Second, "writes to resume", func() bool {
		send(1)
		return !st().History.DiskFull
	})
	resumed := time.Since(freed)
	last := seq
	send(3)
	waitFor(t, 10*time.Second, "new samples in the history", func() bool {
		_, s := queryHistory(t, cons, host, time.Now().Add(-5*time.Minute), time.Now())
		pts := s.points()
		return len(pts) > 0 && s.Figures["cpu"].Mean[len(s.Figures["cpu"].Mean)-1] != nil && *s.Figures["cpu"].Mean[len(s.Figures["cpu"].Mean)-1] == float64((last+3)%100)
	})
	record(t, faultRow{Fault: "20. history: the disk is full (RLIMIT_FSIZE on the running consumer: real EFBIG)", Recovery: fmt.Sprintf("writes resume %s after space returns", secs(resumed)),
		Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1,
		Note: fmt.Sprintf("disk_full on /api/status and /metrics %s after; 1 log line; the live view took every snapshot meanwhile (last seq %d); the history goes on after (retried every 30 s; what arrived while full is not in it)", secs(detect), last)})
}
