package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// reconnectBound is what "reconnects within the backoff cap" means here: the
// cap the rigs use (RECONNECT_MAX_DELAY=1s) plus a margin for a loaded
// 2-core machine running -race binaries.
const reconnectBound = 1*time.Second + 9*time.Second

// TestFaultBrokerStopStart: stop_app / start_app three times in the middle of
// a stream; then SIGTERM while the broker is down.
func TestFaultBrokerStopStart(t *testing.T) {
	faultTest(t)
	node := brokertest.Start(t) // private: this test stops the broker
	r := startRig(t, node.URL, node.URL, nil, nil)
	time.Sleep(time.Second)
	var worst time.Duration
	for i := 1; i <= 3; i++ {
		stopAt := time.Now()
		node.StopApp(t)
		// Readiness and STATUS= follow the state, on both daemons.
		waitNotReady(t, r.pub, 20*time.Second)
		waitNotReady(t, r.cons, 20*time.Second)
		r.pubN.WaitSince(t, stopAt, "STATUS=broker unreachable", 20*time.Second)
		r.consN.WaitSince(t, stopAt, "STATUS=broker unreachable", 20*time.Second)
		time.Sleep(2 * time.Second) // snapshots wait in the outbox
		node.StartApp(t)
		up := time.Now()
		dp := waitReadyFrom(t, r.pub, up, 30*time.Second)
		dc := waitReadyFrom(t, r.cons, up, 30*time.Second)
		r.pubN.WaitSince(t, stopAt, "STATUS=broker connected", 10*time.Second)
		r.consN.WaitSince(t, stopAt, "STATUS=broker connected", 10*time.Second)
		t.Logf("cycle %d: publisher ready %v, consumer ready %v after start_app", i, dp.Round(time.Millisecond), dc.Round(time.Millisecond))
		worst = max(worst, dp, dc)
		time.Sleep(time.Second)
	}
	if worst > reconnectBound {
		t.Errorf("a daemon took %v to reconnect after start_app, more than the backoff cap + margin (%v)", worst, reconnectBound)
	}
	a := r.settle(t, 0)
	record(t, faultRow{Fault: "1. broker stop_app/start_app ×3 mid-stream", Recovery: "≤ " + secs(worst),
		Confirmed: a.Confirmed, Delivered: a.Delivered, Lost: a.Lost, Dups: r.dups(t),
		Note: "both daemons ready again after start_app; STATUS= and /readyz followed"})

	// 5 (unreachable). SIGTERM while the broker is down.
	node.StopApp(t)
	waitNotReady(t, r.pub, 20*time.Second)
	publish(t, r.pub, http.MethodPost) // something owed to the broker
	code, took := r.pub.Stop(t)
	ccode, ctook := r.cons.Stop(t)
	if code != 0 || ccode != 0 || took > 10*time.Second || ctook > 10*time.Second {
		t.Errorf("SIGTERM with the broker down: publisher exit %d after %v, consumer exit %d after %v (stop timeout 10s)",
			code, took, ccode, ctook)
	}
	record(t, faultRow{Fault: "5. SIGTERM while the broker is unreachable", Recovery: fmt.Sprintf("exit in %s / %s", secs(took), secs(ctook)),
		Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1,
		Note: "publisher / consumer; TimeoutStopSec=10s; the outbox in memory only here (no OUTBOX_DIR): what is left is lost with the process (logged)"})
}

// TestFaultCloseAllConnections: the broker closes every connection 20 times
// within 60 s; nothing is lost, nothing leaks, one consumer remains.
func TestFaultCloseAllConnections(t *testing.T) {
	faultTest(t)
	node := brokertest.Start(t) // private: this test closes every connection
	r := startRig(t, node.URL, node.URL, nil, nil)
	const closes = 20
	var baseP, baseC procStats
	var worst time.Duration
	start := time.Now()
	for i := 1; i <= closes; i++ {
		node.CloseAll(t)
		at := time.Now()
		r.pub.WaitLog(t, "connected to broker", i+1, 30*time.Second)
		r.cons.WaitLog(t, "connected to broker", i+1, 30*time.Second)
		dp := waitReadyFrom(t, r.pub, at, 30*time.Second)
		dc := waitReadyFrom(t, r.cons, at, 30*time.Second)
		worst = max(worst, dp, dc)
		if i == 1 {
			time.Sleep(500 * time.Millisecond)
			baseP, baseC = readProc(t, r.pub), readProc(t, r.cons)
		}
	}
	took := time.Since(start)
	a := r.settle(t, 0)
	time.Sleep(2 * time.Second)
	endP, endC := readProc(t, r.pub), readProc(t, r.cons)
	t.Logf("publisher: %v after the first reconnect, %v after %d", baseP, endP, closes)
	t.Logf("consumer:  %v after the first reconnect, %v after %d", baseC, endC, closes)
	for _, c := range []struct {
		name      string
		base, end procStats
	}{{"publisher", baseP, endP}, {"consumer", baseC, endC}} {
		if c.end.FDs > c.base.FDs+2 {
			t.Errorf("%s open files grew from %d to %d over %d reconnects", c.name, c.base.FDs, c.end.FDs, closes)
		}
		// -race inflates memory; a leak per reconnect would still show.
		if c.end.RSSKiB > c.base.RSSKiB+48<<10 {
			t.Errorf("%s RSS grew from %d to %d MiB over %d reconnects", c.name, c.base.RSSKiB>>10, c.end.RSSKiB>>10, closes)
		}
	}
	// Exactly one consumer on the queue, one connection per daemon.
	out := node.Ctl(t, "list_queues", "name", "consumers", "--no-table-headers")
	if !strings.Contains(out, r.queue+"\t1") {
		t.Errorf("list_queues: want %s with 1 consumer:\n%s", r.queue, out)
	}
	conns := strings.Count(strings.TrimSpace(node.Ctl(t, "list_connections", "name", "--no-table-headers")), "\n") + 1
	if conns != 2 {
		t.Errorf("%d connections on the broker, want 2", conns)
	}
	dups := r.dups(t)
	gp, _ := goroutines(t, r.pub)
	gc, _ := goroutines(t, r.cons)
	// One live connection needs a handful of goroutines; a leak per
	// reconnect would leave at least 20 more.
	if gp > 40 || gc > 40 {
		t.Errorf("goroutines after %d reconnects: publisher %d, consumer %d (want ≤ 40 each)", closes, gp, gc)
	}
	record(t, faultRow{Fault: fmt.Sprintf("2. close_all_connections ×%d in %s", closes, secs(took)), Recovery: "≤ " + secs(worst) + " after each",
		Confirmed: a.Confirmed, Delivered: a.Delivered, Lost: a.Lost, Dups: dups,
		Note: fmt.Sprintf("1 consumer on the queue; fds %d→%d / %d→%d, RSS %d→%d / %d→%d MiB, goroutines at end %d / %d (publisher / consumer)",
			baseP.FDs, endP.FDs, baseC.FDs, endC.FDs, baseP.RSSKiB>>10, endP.RSSKiB>>10, baseC.RSSKiB>>10, endC.RSSKiB>>10, gp, gc)})
}

// TestFaultMemoryAlarm: the broker blocks publishers; /publish answers in
// time, the periodic loop keeps its shape, the consumer keeps delivering,
// and everything resumes; SIGTERM while blocked exits in time.
func TestFaultMemoryAlarm(t *testing.T) {
	faultTest(t)
	node := brokertest.Start(t) // private: this test raises the memory alarm
	px := startProxy(t, fmt.Sprintf("127.0.0.1:%d", node.Port))
	const outbox = 20
	r := startRig(t, node.URL, px.URL(), Env{"PUBLISH_INTERVAL": "200ms", "OUTBOX_SIZE": fmt.Sprint(outbox), "PUBLISH_TIMEOUT": "1s"}, nil)
	// A second publisher, stopped with SIGTERM while blocked.
	pub2 := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": node.URL, "EXCHANGE_NAME": r.exchange, "HOST_NAME": r.host + "-2",
		"PUBLISH_INTERVAL": "200ms", "RECONNECT_MAX_DELAY": "1s", "RABBITMQ_HEARTBEAT": "2s"})
	pub2.WaitReady(t, 30*time.Second)
	time.Sleep(time.Second)

	// The consumer goes away first, so that a backlog waits in its queue.
	px.SetDown(true)
	waitNotReady(t, r.cons, 20*time.Second)
	time.Sleep(2 * time.Second)
	alarmAt := time.Now()
	node.Alarm(t, true)
	t.Cleanup(func() { node.Alarm(t, false) })
	r.pubN.WaitSince(t, alarmAt, "STATUS=broker connected but blocked", 30*time.Second)
	backlogTo := pubInfo(t, r.pub).Snapshots.Outbox.Confirmed
	if readyz(t, r.pub) != http.StatusOK {
		t.Error("blocked publisher reports not ready: the connection works, publishes wait")
	}
	// /publish answers within its own timeout with a non-success status.
	var slowest time.Duration
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		code, resp := publish(t, r.pub, http.MethodPost)
		d := time.Since(t0)
		slowest = max(slowest, d)
		if code != http.StatusAccepted || resp.Status != "queued" || !strings.Contains(resp.Message, "blocked") {
			t.Errorf("/publish while blocked: %d %+v", code, resp)
		}
		if d > 1*time.Second+3*time.Second {
			t.Errorf("/publish while blocked took %v (PUBLISH_TIMEOUT=1s)", d)
		}
	}
	// The consumer keeps delivering during the alarm: it comes back and
	// drains its backlog while publishers are still blocked.
	px.SetDown(false)
	r.ws.WaitUpdate(t, 30*time.Second, "the backlog delivered during the alarm", func(e Entry) bool {
		return e.Instance == r.instance && e.Seq >= backlogTo
	})
	if pubInfo(t, r.pub).Snapshots.Outbox.Confirmed > backlogTo+1 {
		t.Error("the publisher had snapshots confirmed during the alarm")
	}
	before := readProc(t, r.pub)
	seq0 := pubInfo(t, r.pub).Snapshots.Published
	time.Sleep(5 * time.Second) // the periodic loop keeps sampling; the outbox stays bounded
	c := pubInfo(t, r.pub)
	after := readProc(t, r.pub)
	if c.Snapshots.Published < seq0+10 {
		t.Errorf("the periodic loop stalled while blocked: %d → %d snapshots in 5 s", seq0, c.Snapshots.Published)
	}
	if c.Snapshots.Outbox.Waiting > outbox || c.Snapshots.Outbox.Dropped == 0 {
		t.Errorf("outbox while blocked: %+v (limit %d, some must have been dropped)", c.Snapshots.Outbox, outbox)
	}
	if after.FDs > before.FDs+2 || after.Threads > before.Threads+4 {
		t.Errorf("publisher while blocked: %v, then %v", before, after)
	}

	// 5 (blocked). SIGTERM while blocked: exit within the stop timeout.
	code, took := pub2.Stop(t)
	if code != 0 || took > 10*time.Second {
		t.Errorf("SIGTERM while blocked: exit %d after %v (stop timeout 10s)", code, took)
	}
	left := logCount(pub2.Output(), "msg=stopped")
	if left != 1 {
		t.Errorf("pub2 logged %d stopped lines", left)
	}

	clearAt := time.Now()
	node.Alarm(t, false)
	r.pubN.WaitSince(t, clearAt, "STATUS=broker connected (", 30*time.Second)
	resumed := time.Since(clearAt)
	a := r.settle(t, 0)
	dups := r.dups(t)
	g, _ := goroutines(t, r.pub)
	if g > 40 {
		t.Errorf("publisher has %d goroutines after the alarm (want ≤ 40)", g)
	}
	record(t, faultRow{Fault: "4. memory alarm (publishers blocked ~10 s)", Recovery: secs(resumed),
		Confirmed: a.Confirmed, Delivered: a.Delivered, Lost: a.Lost, Dups: dups,
		Note: fmt.Sprintf("/publish → 202 in ≤ %s (timeout 1s); consumer drained its backlog during the alarm; %d dropped by OUTBOX_SIZE=%d (by design); %d goroutines after",
			secs(slowest), a.Dropped, outbox, g)})
	record(t, faultRow{Fault: "5. SIGTERM while the broker blocks publishing", Recovery: "exit in " + secs(took),
		Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1, Note: "TimeoutStopSec=10s; drain bounded by 2 s"})
}

// TestFaultMisconfiguration: causes an operator must fix. Each gives one
// clear log line without the password, a capped backoff without a busy
// loop, and recovery once fixed.
func TestFaultMisconfiguration(t *testing.T) {
	faultTest(t)
	node := brokertest.Start(t) // private: this test adds users and vhosts
	const maxDelay = 2 * time.Second
	const watch = 8 * time.Second
	base := Env{"RECONNECT_MAX_DELAY": "2s", "RABBITMQ_HEARTBEAT": "2s", "PUBLISH_INTERVAL": "0"}
	// observe checks the failure phase of d: one warning naming cause, a
	// few attempts (the cap bounds them from below and above), no secret.
	observe := func(t *testing.T, d *Daemon, cause, secret string) {
		t.Helper()
		d.WaitLog(t, cause, 1, 20*time.Second)
		time.Sleep(watch)
		out := d.Output()
		warns := logCount(out, "level=WARN", cause)
		attempts := logCount(out, "level=DEBUG", "waiting before reconnecting")
		if warns != 1 {
			t.Errorf("%s: %d warnings naming %q, want exactly 1", d.Name, warns, cause)
		}
		// Backoff from 250 ms doubling to the 2 s cap, jitter [d/2, d]:
		// over 8 s that is between 4 and about 16 attempts.
		if attempts < 3 || attempts > 25 {
			t.Errorf("%s: %d reconnect attempts in about %v with a %v cap", d.Name, attempts, watch, maxDelay)
		}
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("%s logged the password", d.Name)
		}
		t.Logf("%s: %d attempts in ~%v; line: %s", d.Name, attempts, watch, firstLine(out, cause))
	}
	admin := func(t *testing.T) *amqp.Channel {
		conn, err := amqp.Dial(node.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	var rows []faultRow
	run := func(name string, f func(t *testing.T) (time.Duration, string)) {
		t.Run(name, func(t *testing.T) {
			rec, note := f(t)
			rows = append(rows, faultRow{Fault: "6. " + name, Recovery: secs(rec), Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1, Note: note})
		})
	}
	run("exchange exists with another type", func(t *testing.T) (time.Duration, string) {
		ex := brokertest.Name(t, "ex")
		ch := admin(t)
		if err := ch.ExchangeDeclare(ex, "direct", true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		env := copyEnv(base)
		env["RABBITMQ_URL"], env["EXCHANGE_NAME"], env["EXCHANGE_TYPE"] = node.URL, ex, "fanout"
		pub := Start(t, "sysmon-publisher", copyEnv(env))
		env["QUEUE_NAME"] = brokertest.Name(t, "q")
		cons := Start(t, "sysmon-consumer", env)
		observe(t, pub, "already exists with other settings", "")
		observe(t, cons, "already exists with other settings", "")
		if err := ch.ExchangeDelete(ex, false, false); err != nil {
			t.Fatal(err)
		}
		fixed := time.Now()
		d := max(waitReadyFrom(t, pub, fixed, 30*time.Second), waitReadyFrom(t, cons, fixed, 30*time.Second))
		return d, "PRECONDITION_FAILED explained once; ready after the exchange is deleted"
	})
	run("queue deleted under the consumer", func(t *testing.T) (time.Duration, string) {
		r := startRig(t, node.URL, node.URL, Env{"PUBLISH_INTERVAL": "0"}, nil)
		ch := admin(t)
		at := time.Now()
		if _, err := ch.QueueDelete(r.queue, false, false, false); err != nil {
			t.Fatal(err)
		}
		r.cons.WaitLog(t, "cancelled the consumer", 1, 20*time.Second)
		r.cons.WaitLog(t, "consuming", 2, 30*time.Second)
		d := time.Since(at)
		code, resp := publish(t, r.pub, http.MethodPost)
		if code != http.StatusOK {
			t.Fatalf("/publish after the queue came back: %d %+v", code, resp)
		}
		r.ws.WaitUpdate(t, 20*time.Second, "a snapshot after the queue was declared again", func(e Entry) bool {
			return e.Instance == r.instance && e.Seq == resp.seq()
		})
		if n := logCount(r.cons.Output(), "cancelled the consumer"); n != 1 {
			t.Errorf("%d log lines about the cancel, want 1", n)
		}
		return d, "basic.cancel logged once; queue declared again, next snapshot delivered"
	})
	run("wrong credentials", func(t *testing.T) (time.Duration, string) {
		const secret = "Secr3t-pw-7Qx"
		env := copyEnv(base)
		env["RABBITMQ_URL"] = fmt.Sprintf("amqp://sysmon:%s@127.0.0.1:%d/", secret, node.Port)
		env["EXCHANGE_NAME"] = brokertest.Name(t, "ex")
		pub := Start(t, "sysmon-publisher", env)
		observe(t, pub, "refused", secret)
		node.Ctl(t, "add_user", "sysmon", secret)
		node.Ctl(t, "set_permissions", "-p", "/", "sysmon", ".*", ".*", ".*")
		fixed := time.Now()
		d := waitReadyFrom(t, pub, fixed, 30*time.Second)
		if strings.Contains(pub.Output(), secret) {
			t.Error("the password reached the log")
		}
		return d, "ACCESS_REFUSED explained once, password never logged; ready after the user is created"
	})
	run("vhost does not exist", func(t *testing.T) (time.Duration, string) {
		env := copyEnv(base)
		env["RABBITMQ_URL"] = fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/nosuchvhost", node.Port)
		env["EXCHANGE_NAME"] = brokertest.Name(t, "ex")
		env["QUEUE_NAME"] = brokertest.Name(t, "q")
		cons := Start(t, "sysmon-consumer", env)
		observe(t, cons, "virtual host", "")
		node.Ctl(t, "add_vhost", "nosuchvhost")
		node.Ctl(t, "set_permissions", "-p", "nosuchvhost", "guest", ".*", ".*", ".*")
		fixed := time.Now()
		return waitReadyFrom(t, cons, fixed, 30*time.Second), "vhost explained once; ready after it is created"
	})
	for _, r := range rows {
		record(t, r)
	}
}

func firstLine(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func (r publishResponse) seq() uint64 {
	var d struct{ Seq uint64 }
	_ = json.Unmarshal(r.Data, &d)
	return d.Seq
}
