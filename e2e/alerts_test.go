package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
	"github.com/sysmon-dev/sysmon/internal/notify"
)

// hookEvent is one alert of a received webhook payload.
type hookEvent struct {
	ID, Rule, Host, Mount, State string
	Reminder                     bool
}

// receiver is a webhook receiver that can be down (503).
type receiver struct {
	srv     *httptest.Server
	secret  string
	mu      sync.Mutex
	down    bool
	refused int
	ids     map[string]int // notification id → deliveries
	events  []hookEvent
	groups  []string
	badSig  int
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{secret: secret, ids: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.down {
			r.refused++
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		if secret != "" && !notify.Verify([]byte(secret), body, req.Header.Get(notify.SignatureHeader)) {
			r.badSig++
		}
		var p struct {
			ID     string `json:"id"`
			Group  string `json:"group"`
			Alerts []struct {
				Rule, Host, Mount, State string
				Reminder                 bool
			} `json:"alerts"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.ids[p.ID]++
		if p.Group != "" {
			r.groups = append(r.groups, p.Group)
		}
		for _, a := range p.Alerts {
			r.events = append(r.events, hookEvent{ID: p.ID, Rule: a.Rule, Host: a.Host, Mount: a.Mount, State: a.State, Reminder: a.Reminder})
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setDown(d bool) { r.mu.Lock(); r.down = d; r.mu.Unlock() }

// count counts the received events of rule on host in state.
func (r *receiver) count(rule, host, state string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Rule == rule && e.Host == host && e.State == state && !e.Reminder {
			n++
		}
	}
	return n
}

func (r *receiver) all() []hookEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookEvent(nil), r.events...)
}

func (r *receiver) duplicates() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, n := range r.ids {
		if n > 1 {
			out = append(out, fmt.Sprintf("%s×%d", id, n))
		}
	}
	return out
}

type apiAlerts struct {
	Firing []struct {
		Rule, Host, Mount string
		Value             float64
	} `json:"firing"`
	Silenced []struct{ Rule, Host string }        `json:"silenced"`
	Recent   []struct{ Rule, Host, State string } `json:"recent"`
}

func alertConsumerEnv(hook *receiver) Env {
	return Env{"ALERT_WEBHOOK_URL": hook.srv.URL + "/hook", "ALERT_WEBHOOK_SECRET": hook.secret,
		"ALERT_CHECK_INTERVAL": "200ms", "ALERT_FOR": "2s",
		// The rules, not the floors, are tested here: a host is offline
		// after 10 of its 1 s intervals, as without HOST_OFFLINE_MIN.
		"HOST_STALE_MIN": "0s", "HOST_OFFLINE_MIN": "0s"}
}

// TestAlertKilledPublisherOfflineStoppedPublisherStopped: SIGKILL → one
// host_offline within the offline time (10 intervals); SIGTERM (a goodbye)
// → host_stopped, never host_offline.
func TestAlertKilledPublisherOfflineStoppedPublisherStopped(t *testing.T) {
	hook := newReceiver(t, "hook-secret")
	env := alertConsumerEnv(hook)
	env["STATE_DIR"] = t.TempDir()
	r := startRig(t, brokertest.SharedURL, brokertest.SharedURL, Env{"PUBLISH_INTERVAL": "1s"}, env)
	other := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": brokertest.SharedURL, "EXCHANGE_NAME": r.exchange,
		"HOST_NAME": r.host + "-b", "PUBLISH_INTERVAL": "1s", "RECONNECT_MAX_DELAY": "1s"})
	other.WaitReady(t, 30*time.Second)
	r.ws.WaitUpdate(t, 20*time.Second, "the second host", func(e Entry) bool { return e.Host == r.host+"-b" })

	killed := time.Now()
	r.pub.Kill()
	waitFor(t, 10*time.Second+5*time.Second, "host_offline for the killed publisher", func() bool {
		return hook.count("host_offline", r.host, "firing") == 1
	})
	t.Logf("host_offline notified %v after SIGKILL (offline time 10 s)", time.Since(killed).Round(100*time.Millisecond))

	other.Stop(t)
	waitFor(t, 10*time.Second, "host_stopped for the stopped publisher", func() bool {
		return hook.count("host_stopped", r.host+"-b", "firing") == 1
	})
	time.Sleep(12 * time.Second) // past its offline time: still no outage
	if n := hook.count("host_offline", r.host+"-b", "firing"); n != 0 {
		t.Fatalf("a publisher stopped with SIGTERM was called offline %d times", n)
	}
	if n := hook.count("host_offline", r.host, "firing"); n != 1 {
		t.Fatalf("host_offline notified %d times, want once", n)
	}
	// The figure rules may fire too on a busy test machine: only the host
	// rules are counted.
	var a apiAlerts
	r.cons.GetJSON(t, "/api/alerts", &a)
	var hostRules []string
	for _, f := range a.Firing {
		if strings.HasPrefix(f.Rule, "host_") {
			hostRules = append(hostRules, f.Rule+" "+strings.TrimPrefix(f.Host, r.host))
		}
	}
	if strings.Join(hostRules, ",") != "host_offline ,host_stopped -b" {
		t.Fatalf("GET /api/alerts: want host_offline and host_stopped firing, got %q", hostRules)
	}
	if hook.badSig != 0 {
		t.Fatalf("%d payloads had a bad signature", hook.badSig)
	}
	if !strings.Contains(r.cons.Output(), "alert firing") {
		t.Fatal("the transition was not logged")
	}
}

// TestAlertThresholdForecastAndWebhookDown: injected snapshots over the CPU
// critical level past ALERT_FOR fire, and under the warning level resolve;
// a filling file system fires the forecast; the webhook receiver is down
// all the while, and gets each transition exactly once when it returns.
func TestAlertThresholdForecastAndWebhookDown(t *testing.T) {
	hook := newReceiver(t, "")
	hook.setDown(true)
	exchange, queue := brokertest.Name(t, "ex"), brokertest.Name(t, "q")
	env := alertConsumerEnv(hook)
	env["RABBITMQ_URL"], env["EXCHANGE_NAME"], env["QUEUE_NAME"] = brokertest.SharedURL, exchange, queue
	env["STATE_DIR"] = t.TempDir()
	cons := Start(t, "sysmon-consumer", env)
	cons.WaitReady(t, 30*time.Second)
	pub := dialPublisher(t, brokertest.SharedURL, exchange)
	hot, filling := brokertest.Name(t, "hot"), brokertest.Name(t, "filling")
	seq := uint64(0)
	send := func(host string, cpu float64, at time.Time, diskPct float64) {
		seq++
		m := map[string]any{"schema": 1, "host": host, "instance_id": "i-" + host, "seq": seq, "interval_seconds": 1,
			"timestamp": at.Format("2006-01-02T15:04:05.000000"), "time": at.UTC().Format(time.RFC3339Nano),
			"cpu_percent": cpu, "memory": map[string]any{"total": 8 << 30, "available": 4 << 30, "percent": 50.0},
			"disk":        map[string]any{"total": 100 << 30, "used": 50 << 30, "free": 50 << 30},
			"filesystems": []map[string]any{{"mountpoint": "/data", "device": "/dev/sdb1", "fstype": "ext4", "total": 1000, "used": uint64(diskPct * 10), "free": 1000 - uint64(diskPct*10), "percent": diskPct}},
		}
		b, _ := json.Marshal(m)
		pub.publish(t, exchange, host, b)
	}
	// The hot host: 99 % CPU, every 300 ms for 4 s (ALERT_FOR is 2 s).
	// The filling host: 16 samples 15 minutes apart in its own clock, from
	// 50 % to 80 %: 8 %/h, full in about 2.5 h.
	start := time.Now()
	for i := 0; i < 16; i++ {
		send(hot, 99, time.Now(), 10)
		send(filling, 5, start.Add(time.Duration(i-16)*15*time.Minute), 50+2*float64(i))
		time.Sleep(300 * time.Millisecond)
	}
	waitFor(t, 10*time.Second, "cpu and disk_full_forecast firing in /api/alerts", func() bool {
		var a apiAlerts
		cons.GetJSON(t, "/api/alerts", &a)
		cpu, fc := false, false
		for _, f := range a.Firing {
			cpu = cpu || (f.Rule == "cpu" && f.Host == hot)
			fc = fc || (f.Rule == "disk_full_forecast" && f.Host == filling && f.Mount == "/data")
		}
		return cpu && fc
	})
	// Cool down: under the warning level for ALERT_FOR resolves.
	for i := 0; i < 14; i++ {
		send(hot, 10, time.Now(), 10)
		// The filling host keeps sending (an offline host's figure
		// alerts resolve), still filling.
		send(filling, 5, time.Now(), 82+0.1*float64(i))
		time.Sleep(300 * time.Millisecond)
	}
	waitFor(t, 10*time.Second, "cpu resolved in /api/alerts", func() bool {
		var a apiAlerts
		cons.GetJSON(t, "/api/alerts", &a)
		for _, e := range a.Recent {
			if e.Rule == "cpu" && e.Host == hot && e.State == "resolved" {
				return true
			}
		}
		return false
	})
	waitFor(t, 10*time.Second, "failed attempts counted", func() bool {
		_, b := cons.Get(t, "/metrics")
		return strings.Contains(string(b), `sysmon_alert_notifications_pending{channel="webhook"}`) &&
			!strings.Contains(string(b), `sysmon_alert_notifications_failed_total{channel="webhook"} 0`)
	})
	if got := hook.all(); len(got) != 0 {
		t.Fatalf("a down receiver received %v", got)
	}
	// A restart while notifications are pending loses none of them.
	cons.Stop(t)
	cons = Start(t, "sysmon-consumer", env)
	cons.WaitReady(t, 30*time.Second)
	hook.setDown(false)
	// The filling host keeps sending across the restart, as a real host
	// does: the restarted consumer knows it from its history, and a
	// silent host's figure alerts would resolve as offline.
	keepFilling := func() { send(filling, 5, time.Now(), 83) }
	waitFor(t, 60*time.Second, "the pending notifications delivered", func() bool {
		keepFilling()
		return hook.count("cpu", hot, "firing") >= 1 && hook.count("cpu", hot, "resolved") >= 1 &&
			hook.count("disk_full_forecast", filling, "firing") >= 1
	})
	for range 10 { // anything sent twice would come now
		keepFilling()
		time.Sleep(300 * time.Millisecond)
	}
	for _, c := range []struct{ rule, host, state string }{{"cpu", hot, "firing"}, {"cpu", hot, "resolved"}, {"disk_full_forecast", filling, "firing"}} {
		if n := hook.count(c.rule, c.host, c.state); n != 1 {
			t.Errorf("%s %s %s delivered %d times, want exactly once", c.rule, c.host, c.state, n)
		}
	}
	if d := hook.duplicates(); len(d) > 0 {
		t.Errorf("notifications delivered more than once: %v", d)
	}
	_, b := cons.Get(t, "/metrics")
	if !strings.Contains(string(b), `sysmon_alert_notifications_pending{channel="webhook"} 0`) ||
		!strings.Contains(string(b), `sysmon_alerts_firing{rule="disk_full_forecast"} 1`) {
		t.Errorf("metrics after delivery:\n%s", grepLines(string(b), "sysmon_alert"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestFaultAlertsBrokerDownNoHostOffline: the consumer's broker (a private node)
// stopped for a minute under 20 live hosts (4 publishers, 16 hosts sent by
// the test) raises no host_offline: the consumer was blind, not the fleet
// dead.
func TestFaultAlertsBrokerDownNoHostOffline(t *testing.T) {
	faultTest(t)
	node := brokertest.Start(t)
	hook := newReceiver(t, "")
	env := alertConsumerEnv(hook)
	r := startRig(t, node.URL, node.URL, Env{"PUBLISH_INTERVAL": "1s"}, env)
	for i := 0; i < 3; i++ {
		p := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": node.URL, "EXCHANGE_NAME": r.exchange,
			"HOST_NAME": fmt.Sprintf("%s-p%d", r.host, i), "PUBLISH_INTERVAL": "1s", "RECONNECT_MAX_DELAY": "1s"})
		p.WaitReady(t, 30*time.Second)
	}
	// 16 more hosts from the test, every second, reconnecting as needed.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		injectHosts(r.exchange, node.URL, r.host, 16, stop)
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
	waitFor(t, 30*time.Second, "20 live hosts", func() bool {
		var s struct {
			Fleet struct{ Live int } `json:"fleet"`
		}
		r.cons.GetJSON(t, "/api/status", &s)
		return s.Fleet.Live == 20
	})
	node.StopApp(t)
	waitNotReady(t, r.cons, 20*time.Second)
	time.Sleep(30 * time.Second)
	// Every host is offline in the consumer's eyes now; it says why it
	// holds back.
	var blind struct {
		Blind bool `json:"blind"`
	}
	r.cons.GetJSON(t, "/api/alerts", &blind)
	var st struct {
		Fleet struct{ Offline int } `json:"fleet"`
	}
	r.cons.GetJSON(t, "/api/status", &st)
	if !blind.Blind || st.Fleet.Offline != 20 {
		t.Fatalf("during the outage: blind %v, %d hosts offline (want true, 20)", blind.Blind, st.Fleet.Offline)
	}
	time.Sleep(30 * time.Second)
	node.StartApp(t)
	r.cons.WaitReady(t, 30*time.Second)
	waitFor(t, 40*time.Second, "20 live hosts again", func() bool {
		var s struct {
			Fleet struct{ Live int } `json:"fleet"`
		}
		r.cons.GetJSON(t, "/api/status", &s)
		return s.Fleet.Live == 20
	})
	time.Sleep(25 * time.Second) // past the grace (2 × 10 intervals)
	for _, e := range hook.all() {
		if e.Rule == "host_offline" {
			t.Fatalf("host_offline raised for %s while the consumer's own broker was down: %v", e.Host, hook.all())
		}
	}
	var a apiAlerts
	r.cons.GetJSON(t, "/api/alerts", &a)
	for _, f := range a.Firing {
		if strings.HasPrefix(f.Rule, "host_") { // figure rules may fire on a busy test machine
			t.Fatalf("%s firing for %s after the outage", f.Rule, f.Host)
		}
	}
	record(t, faultRow{Fault: "18. alerts: consumer's broker down 60 s under 20 live hosts", Recovery: "—",
		Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1, Note: "no host_offline raised or notified (the consumer was blind, not the fleet dead)"})
}

// injectHosts publishes a snapshot of n hosts (prefix-iN) every second to
// exchange until stop, reconnecting while the broker is away.
func injectHosts(exchange, url, prefix string, n int, stop <-chan struct{}) {
	var conn *amqp.Connection
	var ch *amqp.Channel
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	seq := uint64(0)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if ch == nil {
			c, err := amqp.Dial(url)
			if err != nil {
				continue
			}
			if ch, err = c.Channel(); err != nil {
				c.Close()
				ch = nil
				continue
			}
			conn = c
		}
		seq++
		for i := 0; i < n; i++ {
			host := fmt.Sprintf("%s-i%d", prefix, i)
			if err := ch.Publish(exchange, host, false, false, amqp.Publishing{Body: testSnapshot(host, "inst-"+host, seq, 0)}); err != nil {
				conn.Close()
				conn, ch = nil, nil
				break
			}
		}
	}
}

// TestAlertTestFlag: -test-alert sends to every channel, prints each
// result, and exits 1 when one failed.
func TestAlertTestFlag(t *testing.T) {
	hook := newReceiver(t, "s")
	closed := brokertest.FreePort(t) // nothing listens there
	env := writeEnv(t, Env{"ALERT_WEBHOOK_URL": hook.srv.URL, "ALERT_WEBHOOK_SECRET": "s", "ALERT_SMTP_HOST": "127.0.0.1",
		"ALERT_SMTP_PORT": fmt.Sprint(closed), "ALERT_EMAIL_FROM": "a@example.com", "ALERT_EMAIL_TO": "b@example.com"})
	out, err := runBinary("sysmon-consumer", "-config", env, "-test-alert")
	if err == nil || !strings.Contains(out, "webhook: sent") || !strings.Contains(out, "email: FAILED") {
		t.Fatalf("want webhook sent, email failed, exit 1; got %v:\n%s", err, out)
	}
	if hook.count("test", "sysmon-consumer", "firing") != 1 || hook.badSig != 0 {
		t.Fatalf("the receiver got %v (bad signatures %d)", hook.all(), hook.badSig)
	}
}
