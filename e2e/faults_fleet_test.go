package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// Faults of the fleet's bookkeeping: messages any broker user can send that
// must not blind the dashboard to a host, nor fill the host table for good.
// None breaks a broker: they use the shared one with names unique to the test.

// withFields is testSnapshot with some fields replaced.
func withFields(host, instance string, seq uint64, set map[string]any) []byte {
	var m map[string]any
	_ = json.Unmarshal(testSnapshot(host, instance, seq, 0), &m)
	for k, v := range set {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// fleetCounts is the "fleet" object of the consumer's /api/status.
type fleetCounts struct {
	Hosts    int    `json:"hosts"`
	Live     int    `json:"live"`
	Offline  int    `json:"offline"`
	Refused  uint64 `json:"refused_hosts_total"`
	Evicted  uint64 `json:"evicted_hosts_total"`
	Expired  uint64 `json:"expired_hosts_total"`
	Bytes    int64  `json:"bytes"`
	MaxBytes int64  `json:"max_bytes"`
}

func fleetInfo(t *testing.T, cons *Daemon) fleetCounts {
	t.Helper()
	var s struct {
		Fleet fleetCounts `json:"fleet"`
	}
	if code := cons.GetJSON(t, "/api/status", &s); code != http.StatusOK {
		t.Fatalf("consumer /api/status answered %d", code)
	}
	return s.Fleet
}

// hostNames is what /api/hosts lists, name → status.
func hostNames(t *testing.T, cons *Daemon) map[string]string {
	t.Helper()
	var v struct {
		Hosts []struct {
			Host   string `json:"host"`
			Status string `json:"status"`
		} `json:"hosts"`
	}
	if code := cons.GetJSON(t, "/api/hosts", &v); code != http.StatusOK {
		t.Fatalf("/api/hosts answered %d", code)
	}
	out := map[string]string{}
	for _, h := range v.Hosts {
		out[h.Host] = h.Status
	}
	return out
}

// TestFaultForgedSequence: one message with a live host's (public) instance
// id, sequence number 2^64-1 and interval_seconds 86400 must not make the
// host's genuine snapshots that follow duplicates.
func TestFaultForgedSequence(t *testing.T) {
	faultTest(t)
	url := brokertest.Shared(t)
	exchange := brokertest.Name(t, "ex")
	cons := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange, "QUEUE_NAME": brokertest.Name(t, "q")})
	cons.WaitReady(t, 30*time.Second)
	ws := DialWS(t, cons)
	p := dialPublisher(t, url, exchange)
	instance, host := uuid.NewString(), brokertest.Name(t, "host")
	const n = 20
	for seq := uint64(1); seq <= n/2; seq++ {
		p.publish(t, exchange, host, testSnapshot(host, instance, seq, 0))
	}
	ws.WaitUpdate(t, 20*time.Second, "the first genuine snapshots", func(e Entry) bool { return e.Instance == instance && e.Seq == n/2 })
	// Spliced in as text: a JSON round trip through float64 would round 2^64-1.
	forged := strings.Replace(string(withFields(host, instance, 77, map[string]any{"interval_seconds": 86400})),
		`"seq":77`, `"seq":`+fmt.Sprint(uint64(math.MaxUint64)), 1)
	p.publish(t, exchange, host, []byte(forged))
	ws.WaitUpdate(t, 20*time.Second, "the forged snapshot", func(e Entry) bool { return e.Instance == instance && e.Seq == math.MaxUint64 })
	for seq := uint64(n/2 + 1); seq <= n; seq++ {
		p.publish(t, exchange, host, testSnapshot(host, instance, seq, 0))
	}
	ws.WaitUpdate(t, 20*time.Second, "the genuine snapshots after the forged one", func(e Entry) bool { return e.Instance == instance && e.Seq == n })
	seqs := ws.Seqs(instance)
	delivered := 0
	for seq := uint64(1); seq <= n; seq++ {
		if seqs[seq] != 1 {
			t.Errorf("genuine seq %d reached the dashboard %d times, want once", seq, seqs[seq])
		} else {
			delivered++
		}
	}
	st := consInfo(t, cons)
	if st.Messages.Duplicates != 0 {
		t.Errorf("%d genuine snapshots dropped as duplicates", st.Messages.Duplicates)
	}
	record(t, faultRow{Fault: "14. forged seq 2^64-1 and interval 86400 for a live host", Recovery: "next genuine one delivered",
		Confirmed: n, Delivered: delivered, Lost: n - delivered, Dups: int(st.Messages.Duplicates),
		Note: "the forged message is shown once (it carries the host's name: see Security); interval believed up to 300 s or the host's own gaps"})
}

// TestFaultHostTableFull: junk names that filled MAX_HOSTS and went quiet
// make room for a real host (offline longest first), are forgotten after
// HOST_EXPIRE, and export only up 0 and last seen on /metrics/fleet meanwhile.
func TestFaultHostTableFull(t *testing.T) {
	faultTest(t)
	url := brokertest.Shared(t)
	exchange := brokertest.Name(t, "ex")
	const maxHosts, expire = 5, 8 * time.Second
	cons := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange, "QUEUE_NAME": brokertest.Name(t, "q"),
		"MAX_HOSTS": fmt.Sprint(maxHosts), "HOST_EXPIRE": expire.String(),
		// No floors: the junk hosts' 0.1 s interval makes them offline at once.
		"HOST_STALE_MIN": "0s", "HOST_OFFLINE_MIN": "0s"})
	cons.WaitReady(t, 30*time.Second)
	ws := DialWS(t, cons)
	p := dialPublisher(t, url, exchange)
	prefix := brokertest.Name(t, "junk")
	// Junk hosts claim a 0.1 s interval: offline 1 s after their message.
	for i := 0; i < maxHosts; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		p.publish(t, exchange, name, withFields(name, uuid.NewString(), 1, map[string]any{"interval_seconds": 0.1}))
	}
	waitFor(t, 20*time.Second, "the junk hosts to fill the table and go offline", func() bool {
		c := fleetInfo(t, cons)
		return c.Hosts == maxHosts && c.Offline == maxHosts
	})
	// The real host (interval 30 s: live for the rest of the test).
	real := brokertest.Name(t, "real")
	start := time.Now()
	p.publish(t, exchange, real, withFields(real, uuid.NewString(), 1, map[string]any{"interval_seconds": 30, "cpu_percent": 42.5}))
	waitFor(t, 20*time.Second, "the real host to be taken", func() bool { return hostNames(t, cons)[real] == "live" })
	taken := time.Since(start)
	c := fleetInfo(t, cons)
	if c.Refused != 0 || c.Evicted != 1 || c.Hosts != maxHosts {
		t.Errorf("after the real host: %+v, want 1 evicted, none refused", c)
	}
	if _, ok := hostNames(t, cons)[prefix+"-0"]; ok {
		t.Errorf("the junk host offline longest (%s-0) was not the one evicted", prefix)
	}
	// /metrics/fleet: the real host's figures; for junk only up 0 and last seen.
	code, body := cons.Get(t, "/metrics/fleet")
	if code != http.StatusOK {
		t.Fatalf("/metrics/fleet answered %d", code)
	}
	if !strings.Contains(string(body), `sysmon_cpu_usage_ratio{host="`+real+`"} 0.425`) {
		t.Errorf("/metrics/fleet lacks the live host's CPU:\n%s", body)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.Contains(line, `host="`+prefix) && !strings.HasPrefix(line, "sysmon_host_up{") &&
			!strings.HasPrefix(line, "sysmon_host_last_seen_timestamp_seconds{") {
			t.Errorf("/metrics/fleet exports an offline host's stale figure: %s", line)
		}
		if strings.HasPrefix(line, "sysmon_host_up{host=\""+prefix) && !strings.HasSuffix(line, " 0") {
			t.Errorf("offline junk host not up 0: %s", line)
		}
	}
	// HOST_EXPIRE: the junk goes, dashboards are told, the real host stays.
	waitFor(t, 30*time.Second, "the junk hosts to expire", func() bool {
		h := hostNames(t, cons)
		return len(h) == 1 && h[real] == "live"
	})
	expired := time.Since(start)
	c = fleetInfo(t, cons)
	if c.Expired != maxHosts-1 {
		t.Errorf("expired_hosts_total %d, want %d", c.Expired, maxHosts-1)
	}
	removed := 0
	waitFor(t, 10*time.Second, "dashboards to be told of every expired host", func() bool {
		removed = 0
		for _, u := range ws.Updates() {
			if strings.HasPrefix(u.Host, prefix) && len(u.Snapshot) == 0 {
				removed++
			}
		}
		return removed == maxHosts // 1 evicted + 4 expired
	})
	record(t, faultRow{Fault: "15. MAX_HOSTS full of junk names, then a real host", Recovery: fmt.Sprintf("taken in %s", secs(taken)),
		Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1,
		Note: fmt.Sprintf("MAX_HOSTS=%d: the junk host offline longest evicted, 0 refused; HOST_EXPIRE=%s forgot the other %d (gone %s after), %d removals sent to dashboards; offline hosts export only up 0 and last seen",
			maxHosts, expire, c.Expired, secs(expired), removed)})
}
