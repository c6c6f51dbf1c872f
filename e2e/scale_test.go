package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
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
