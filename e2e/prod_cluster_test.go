package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// connectedNode asks a daemon's /readyz which node it is connected to; nil
// while it is not connected.
func connectedNode(t *testing.T, d *Daemon, nodes []*brokertest.Node) *brokertest.Node {
	t.Helper()
	var r struct {
		Ready  bool `json:"ready"`
		Broker struct {
			State  string `json:"state"`
			Broker string `json:"broker"`
		} `json:"broker"`
	}
	if code := d.GetJSON(t, "/readyz", &r); code == 0 || !r.Ready || r.Broker.State != "connected" {
		return nil
	}
	return brokertest.NodeByURL(nodes, r.Broker.Broker)
}

// stoppedReport reads the publisher's last line: how many snapshots the
// broker confirmed, and how many were left unsent.
func stoppedReport(t *testing.T, pub *Daemon) (confirmed, left int) {
	t.Helper()
	found := false
	for _, line := range strings.Split(pub.Output(), "\n") {
		if i := strings.Index(line, "confirmed_total="); i >= 0 && strings.Contains(line, "msg=stopped") {
			if _, err := fmt.Sscanf(line[i:], "confirmed_total=%d left_in_outbox=%d", &confirmed, &left); err == nil {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("the publisher did not log msg=stopped confirmed_total=N left_in_outbox=M:\n%s", pub.Output())
	}
	return confirmed, left
}

// TestProdClusterFailover: both daemons are given the three nodes of a
// cluster; the node each is connected to is stopped while snapshots flow.
// Both reconnect to another node within the backoff cap (plus a generous
// margin for a loaded machine), and with a quorum queue every snapshot the
// broker confirmed reaches the WebSocket client.
func TestProdClusterFailover(t *testing.T) {
	const maxDelay = 2 * time.Second
	const margin = 10 * time.Second // the stopped node's shutdown, leader election, a busy CI machine
	nodes := brokertest.StartCluster(t, 3)
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = n.URL
	}
	exchange := brokertest.Name(t, "ex")
	queue := brokertest.Name(t, "q")
	common := Env{"RABBITMQ_URL": strings.Join(urls, ","), "EXCHANGE_NAME": exchange,
		"RECONNECT_MAX_DELAY": maxDelay.String(), "RABBITMQ_HEARTBEAT": "2s"}
	consEnv := Env{"QUEUE_NAME": queue, "QUEUE_TYPE": "quorum"}
	pubEnv := Env{"HOST_NAME": brokertest.Name(t, "host"), "PUBLISH_INTERVAL": "100ms"}
	for k, v := range common {
		consEnv[k], pubEnv[k] = v, v
	}
	cons := Start(t, "sysmon-consumer", consEnv)
	cons.WaitReady(t, 30*time.Second)
	if out := nodes[0].Ctl(t, "list_queues", "name", "type"); !strings.Contains(out, queue+"\tquorum") {
		t.Fatalf("queue %s is not a quorum queue:\n%s", queue, out)
	}
	ws := DialWS(t, cons) // before the first snapshot, so that every one is seen
	pub := Start(t, "sysmon-publisher", pubEnv)
	pub.WaitReady(t, 30*time.Second)
	var info struct {
		Instance string `json:"instance_id"`
	}
	pub.GetJSON(t, "/", &info)
	if info.Instance == "" {
		t.Fatal("GET / on the publisher shows no instance_id")
	}
	ws.WaitUpdate(t, 10*time.Second, "a first snapshot", func(e Entry) bool { return e.Instance == info.Instance })

	daemons := []*Daemon{pub, cons}
	where := func() map[*Daemon]*brokertest.Node {
		m := map[*Daemon]*brokertest.Node{}
		for _, d := range daemons {
			waitFor(t, 10*time.Second, d.Name+" connected to a node of the cluster", func() bool {
				m[d] = connectedNode(t, d, nodes)
				return m[d] != nil
			})
		}
		return m
	}
	// stopUnder stops the node under d and checks that every daemon that
	// was on it fails over to another node; it returns the daemons moved.
	stopUnder := func(d *Daemon) (*brokertest.Node, map[*Daemon]bool) {
		before := where()
		victim := before[d]
		moved := map[*Daemon]bool{}
		stopping := time.Now()
		victim.StopApp(t)
		stopped := time.Since(stopping)
		for _, d := range daemons {
			if before[d] != victim {
				continue
			}
			// A correctness bound, not a benchmark: the stop itself, then
			// at most one capped backoff and a connect, and a margin.
			waitFor(t, stopped+maxDelay+margin, d.Name+" failing over from "+victim.Name, func() bool {
				n := connectedNode(t, d, nodes)
				return n != nil && n != victim
			})
			moved[d] = true
			t.Logf("%s failed over from %s within %v of the stop (stop_app took %v)",
				d.Name, victim.Name, time.Since(stopping).Round(10*time.Millisecond), stopped.Round(10*time.Millisecond))
		}
		time.Sleep(time.Second) // snapshots flow through the other nodes
		return victim, moved
	}
	// The publisher's node first; the consumer's too if it was elsewhere,
	// once the first is back, so that two of the quorum queue's three
	// replicas are always up.
	first, moved := stopUnder(pub)
	if !moved[cons] {
		first.StartApp(t)
		time.Sleep(time.Second)
		stopUnder(cons)
	}

	// Enough of a stream to mean something, however the nodes fell: when
	// both daemons shared the stopped node the test is a second shorter.
	waitFor(t, 30*time.Second, "20 snapshots confirmed", func() bool {
		return pubInfo(t, pub).Snapshots.Outbox.Confirmed >= 20
	})
	if code, _ := pub.Stop(t); code != 0 {
		t.Fatalf("publisher exit %d", code)
	}
	confirmed, left := stoppedReport(t, pub)
	if confirmed < 20 || left != 0 {
		t.Fatalf("confirmed %d, left %d", confirmed, left)
	}
	checkAllSeqs(t, cons, ws, info.Instance, confirmed, 30*time.Second)
	if t.Failed() {
		for _, n := range nodes {
			if out, err := exec.Command("rabbitmqctl", "-q", "-n", n.Name, "list_queues", "name", "type", "messages",
				"messages_unacknowledged", "consumers", "leader", "members").CombinedOutput(); err == nil {
				t.Logf("queues on %s:\n%s", n.Name, out)
				break
			}
		}
		return
	}
	t.Logf("%d snapshots confirmed, all delivered", confirmed)
}

// checkAllSeqs waits until seqs 1..confirmed of instance have reached the
// WebSocket client, then reports any missing or repeated one.
func checkAllSeqs(t *testing.T, cons *Daemon, ws *WSClient, instance string, confirmed int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var missing, repeated []uint64
	for {
		missing, repeated = nil, nil
		seqs := ws.Seqs(instance)
		for s := uint64(1); s <= uint64(confirmed); s++ {
			switch {
			case seqs[s] == 0:
				missing = append(missing, s)
			case seqs[s] > 1:
				repeated = append(repeated, s)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(repeated) > 0 {
		t.Errorf("seqs %v reached the dashboard more than once", repeated)
	}
	if len(missing) == 0 {
		return
	}
	var status struct {
		Messages struct {
			Received uint64 `json:"received_total"`
			Invalid  uint64 `json:"invalid_total"`
		} `json:"messages"`
	}
	cons.GetJSON(t, "/api/status", &status)
	t.Errorf("%d of %d confirmed snapshots never reached the dashboard: seqs %v; consumer counters %+v",
		len(missing), confirmed, missing, status.Messages)
}
