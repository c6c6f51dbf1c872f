package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// hostSeqs is /api/hosts as host → the seq of its latest snapshot.
func hostSeqs(t *testing.T, d *Daemon) map[string]uint64 {
	t.Helper()
	var list struct {
		Hosts []struct {
			Host     string `json:"host"`
			Snapshot struct {
				Seq uint64 `json:"seq"`
			} `json:"snapshot"`
		} `json:"hosts"`
	}
	if code := d.GetJSON(t, "/api/hosts", &list); code != http.StatusOK {
		t.Fatalf("GET %s/api/hosts: %d", d.Base, code)
	}
	out := make(map[string]uint64, len(list.Hosts))
	for _, h := range list.Hosts {
		out[h.Host] = h.Snapshot.Seq
	}
	return out
}

// roundRobin is the simplest load balancer: each request (a WebSocket
// upgrade included) to the next consumer, no sticky sessions.
func roundRobin(t *testing.T, backends ...*Daemon) *httptest.Server {
	t.Helper()
	var next atomic.Uint64
	proxies := make([]*httputil.ReverseProxy, len(backends))
	for i, b := range backends {
		u, err := url.Parse(b.Base)
		if err != nil {
			t.Fatal(err)
		}
		proxies[i] = httputil.NewSingleHostReverseProxy(u)
	}
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := next.Add(1) - 1
		w.Header().Set("X-Test-Backend", fmt.Sprint(i%uint64(len(proxies))))
		proxies[i%uint64(len(proxies))].ServeHTTP(w, r)
	}))
	t.Cleanup(lb.Close)
	return lb
}

// Several consumers, each with its own queue on the fanout exchange, are
// each a complete copy of the fleet: a load balancer may send any dashboard
// to any of them.
func TestTwoConsumersShowTheSameFleet(t *testing.T) {
	url := brokertest.Shared(t)
	exchange := brokertest.Name(t, "ex")
	var cons []*Daemon
	for i := range 2 {
		c := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange,
			"QUEUE_NAME": brokertest.Name(t, fmt.Sprintf("q%d", i)), "RECONNECT_MAX_DELAY": "1s", "WS_TICK": "250ms"})
		c.WaitReady(t, 20*time.Second)
		cons = append(cons, c)
	}
	var want []string
	for i := range 3 {
		host := brokertest.Name(t, fmt.Sprintf("host%d", i))
		want = append(want, host)
		p := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange, "HOST_NAME": host,
			"PUBLISH_INTERVAL": "1s", "RECONNECT_MAX_DELAY": "1s"})
		p.WaitReady(t, 20*time.Second)
	}
	sort.Strings(want)

	// Both list the three hosts; then, read side by side, the same seq
	// for each host (a publisher's next snapshot may land between the two
	// reads: then they differ by one, and agree at the next try).
	waitFor(t, 20*time.Second, "both consumers to list the three hosts", func() bool {
		return len(hostSeqs(t, cons[0])) == 3 && len(hostSeqs(t, cons[1])) == 3
	})
	start := time.Now()
	same := 0
	for try := 0; same < 3 && try < 50; try++ {
		a, b := hostSeqs(t, cons[0]), hostSeqs(t, cons[1])
		for _, h := range want {
			sa, oka := a[h]
			sb, okb := b[h]
			if !oka || !okb || sa == 0 || sb == 0 {
				t.Fatalf("host %s missing: consumer A %v, consumer B %v", h, a, b)
			}
			// Within a tick or two: at 1 s per snapshot, two seqs apart.
			if d := int64(sa) - int64(sb); d > 2 || d < -2 {
				t.Fatalf("host %s: seq %d on consumer A, %d on B", h, sa, sb)
			}
		}
		if fmt.Sprint(a) == fmt.Sprint(b) {
			same++
		}
		time.Sleep(100 * time.Millisecond)
	}
	if same < 3 {
		t.Fatalf("the two consumers agreed on every host's seq in only %d of 50 reads", same)
	}
	t.Logf("two consumers agreed on 3 hosts' seqs (%d reads in %v)", same, time.Since(start).Round(time.Millisecond))

	// Behind a load balancer without sticky sessions, dashboards land on
	// either consumer and each gets the whole fleet over its WebSocket.
	lb := roundRobin(t, cons...)
	backends := map[string]bool{}
	for range 2 {
		conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(lb.URL, "http")+"/ws", nil)
		if err != nil {
			t.Fatalf("WebSocket through the load balancer: %v", err)
		}
		backends[resp.Header.Get("X-Test-Backend")] = true
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var frame struct {
			Type  string `json:"type"`
			Hosts []struct {
				Host string `json:"host"`
			} `json:"hosts"`
		}
		if err := conn.ReadJSON(&frame); err != nil {
			t.Fatalf("first frame through the load balancer: %v", err)
		}
		conn.Close()
		var got []string
		for _, h := range frame.Hosts {
			got = append(got, h.Host)
		}
		sort.Strings(got)
		if frame.Type != "state" || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("first frame through the load balancer: type %q, hosts %v, want state with %v", frame.Type, got, want)
		}
	}
	if len(backends) != 2 {
		t.Fatalf("the load balancer sent both dashboards to the same consumer: %v", backends)
	}
}

// shardHosts is /api/hosts as host → status, seq and snapshot time.
type shardHost struct {
	Status string
	Seq    uint64
	Time   time.Time
}

func shardHosts(t *testing.T, d *Daemon) map[string]shardHost {
	t.Helper()
	var list struct {
		Hosts []struct {
			Host     string `json:"host"`
			Status   string `json:"status"`
			Snapshot struct {
				Seq  uint64    `json:"seq"`
				Time time.Time `json:"time"`
			} `json:"snapshot"`
		} `json:"hosts"`
	}
	if code := d.GetJSON(t, "/api/hosts", &list); code != http.StatusOK {
		t.Fatalf("GET %s/api/hosts: %d", d.Base, code)
	}
	out := make(map[string]shardHost, len(list.Hosts))
	for _, h := range list.Hosts {
		out[h.Host] = shardHost{h.Status, h.Snapshot.Seq, h.Snapshot.Time}
	}
	return out
}

// metric reads one unlabelled series of a daemon's /metrics.
func metric(t *testing.T, d *Daemon, name string) float64 {
	t.Helper()
	code, b := d.Get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET %s/metrics: %d", d.Base, code)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatalf("%s: %q: %v", name, line, err)
			}
			return f
		}
	}
	t.Fatalf("%s has no series %s", d.Base, name)
	return 0
}

// buildLoadgen builds sysmon-loadgen (without -race: it is the load, not
// what is tested).
func buildLoadgen(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sysmon-loadgen")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/sysmon-dev/sysmon/cmd/sysmon-loadgen").CombinedOutput(); err != nil {
		t.Fatalf("build sysmon-loadgen: %v\n%s", err, out)
	}
	return bin
}

// TestShardsMergeIntoOneFleet is README "Beyond one consumer" scaled down:
// publishers send to a consistent-hash exchange, three shard consumers
// each get a share of the hosts and forward each host's latest snapshot to
// a fanout exchange, and one merged consumer shows the whole fleet, live.
func TestShardsMergeIntoOneFleet(t *testing.T) {
	const hosts, shards = 300, 3
	const every = 2 * time.Second
	node := brokertest.StartWith(t, brokertest.Options{Plugins: []string{"rabbitmq_consistent_hash_exchange"}})
	loadgen := buildLoadgen(t)
	hashEx, fleetEx := brokertest.Name(t, "ex.shards"), brokertest.Name(t, "ex.fleet")

	// The merged view: an ordinary consumer on the fleet exchange, told
	// that it hears from each host only every FORWARD_EVERY.
	merged := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": node.URL, "EXCHANGE_NAME": fleetEx,
		"QUEUE_NAME": brokertest.Name(t, "q.merged"), "RECONNECT_MAX_DELAY": "1s", "WS_TICK": "250ms",
		"HOST_STALE_MIN": (3 * every).String(), "HOST_OFFLINE_MIN": (10 * every).String()})
	var shard []*Daemon
	for i := range shards {
		shard = append(shard, Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": node.URL,
			"EXCHANGE_NAME": hashEx, "EXCHANGE_TYPE": "x-consistent-hash", // QUEUE_BINDING_KEY: 100 by default
			"QUEUE_NAME": brokertest.Name(t, fmt.Sprintf("q.shard%d", i)), "RECONNECT_MAX_DELAY": "1s", "WS_TICK": "250ms",
			"FORWARD_EXCHANGE": fleetEx, "FORWARD_EVERY": every.String()}))
	}
	for _, d := range append([]*Daemon{merged}, shard...) {
		d.WaitReady(t, 30*time.Second)
	}

	gen := exec.Command(loadgen, "publish", "-url", node.URL, "-exchange", hashEx, "-exchange-type", "x-consistent-hash",
		"-hosts", fmt.Sprint(hosts), "-interval", "1s", "-duration", "60s", "-report", "0", "-prefix", "shard-", "-json")
	var genOut syncBuffer
	gen.Stdout, gen.Stderr = &genOut, &genOut
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	genDone := make(chan struct{})
	go func() { _ = gen.Wait(); close(genDone) }()
	t.Cleanup(func() {
		_ = gen.Process.Signal(syscall.SIGTERM)
		<-genDone
		if t.Failed() {
			t.Logf("sysmon-loadgen output:\n%s", genOut.String())
		}
	})
	start := time.Now()

	// Every host on exactly one shard, all of them on some shard.
	var per [shards]map[string]shardHost
	waitFor(t, 30*time.Second, "the shards to hold every host", func() bool {
		n := 0
		for i, d := range shard {
			per[i] = shardHosts(t, d)
			n += len(per[i])
		}
		return n >= hosts
	})
	owner := map[string]int{}
	for i := range per {
		for h := range per[i] {
			if j, dup := owner[h]; dup {
				t.Fatalf("host %s is on shard %d and shard %d", h, j, i)
			}
			owner[h] = i
		}
	}
	if len(owner) != hosts {
		t.Fatalf("the shards hold %d distinct hosts, want %d", len(owner), hosts)
	}
	for i := range per {
		if len(per[i]) == 0 {
			t.Fatalf("shard %d holds no host: %d, %d, %d", i, len(per[0]), len(per[1]), len(per[2]))
		}
	}

	// The merged view lists them all, live.
	var all map[string]shardHost
	waitFor(t, 30*time.Second, "the merged consumer to list every host, live", func() bool {
		all = shardHosts(t, merged)
		if len(all) != hosts {
			return false
		}
		for _, h := range all {
			if h.Status != "live" {
				return false
			}
		}
		return true
	})
	allAt := time.Since(start)
	for h := range all {
		if _, ok := owner[h]; !ok {
			t.Fatalf("the merged view lists %s, which no shard holds", h)
		}
	}

	// Live, not a picture: over 3 forwarding periods every host moves on
	// in the merged view, stays live there, and stays on its shard.
	c0 := 0.0
	for _, d := range shard {
		c0 += metric(t, d, "sysmon_forward_confirmed_total")
	}
	t0 := time.Now()
	time.Sleep(3 * every)
	var delays []time.Duration
	now := time.Now()
	later := shardHosts(t, merged)
	for h, before := range all {
		after := later[h]
		if after.Status != "live" || after.Seq <= before.Seq {
			t.Fatalf("host %s in the merged view: %+v, then %+v after %v", h, before, after, 3*every)
		}
		delays = append(delays, now.Sub(after.Time))
	}
	for i, d := range shard {
		for h := range shardHosts(t, d) {
			if owner[h] != i {
				t.Fatalf("host %s moved from shard %d to %d", h, owner[h], i)
			}
		}
	}
	c1 := 0.0
	for _, d := range shard {
		c1 += metric(t, d, "sysmon_forward_confirmed_total")
	}
	window := time.Since(t0).Seconds()
	rate := (c1 - c0) / window
	// Each host at most once per FORWARD_EVERY: about hosts / every, 150/s
	// here; at most once more than the whole periods the window holds.
	limit := float64(hosts) * (window/every.Seconds() + 1) / window
	if rate > limit || rate < 0.5*float64(hosts)/every.Seconds() {
		t.Fatalf("forwarded %.0f snapshots/s, want about %d hosts / %v = %.0f/s", rate, hosts, every, float64(hosts)/every.Seconds())
	}
	for _, d := range shard {
		if dropped := metric(t, d, "sysmon_forward_dropped_total") + metric(t, d, "sysmon_forward_skipped_total"); dropped != 0 {
			t.Fatalf("%s dropped or skipped %v forwarded snapshots", d.Base, dropped)
		}
	}
	// The forwarder's series are valid for Prometheus.
	cmd := exec.Command(promtool(t), "check", "metrics")
	cmd.Stdin = strings.NewReader(string(scrape(t, shard[0], "/metrics")))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics rejects a shard's /metrics: %v\n%s", err, out)
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	t.Logf("hosts per shard: %d, %d, %d (of %d); merged view complete and live %v after the load started",
		len(per[0]), len(per[1]), len(per[2]), hosts, allAt.Round(100*time.Millisecond))
	t.Logf("forwarded %.0f snapshots/s (hosts / FORWARD_EVERY = %.0f/s); merged view's age of a host's snapshot: p50 %v, max %v (FORWARD_EVERY %v, publishing every 1s)",
		rate, float64(hosts)/every.Seconds(), delays[len(delays)/2].Round(time.Millisecond), delays[len(delays)-1].Round(time.Millisecond), every)
}
