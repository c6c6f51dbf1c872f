package brokertest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// StartCluster boots size private nodes joined into one cluster and stops
// them all, in parallel, when the test ends. The first node boots alone; the
// others boot together and join it on their own (classic peer discovery),
// which is much quicker than stop_app/join_cluster/start_app through
// rabbitmqctl. Quorum queues need three nodes to survive the loss of one.
func StartCluster(t testing.TB, size int) []*Node {
	t.Helper()
	nodes := make([]*Node, 0, size)
	// Cleanups run last-in first-out: this one, stopping every node at
	// once, runs before the nodes' own (which then find them stopped).
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Add(1)
			go func() { defer wg.Done(); n.stop() }()
		}
		wg.Wait()
	})
	seed := launch(t, Options{})
	nodes = append(nodes, seed)
	seed.await(t)
	join := Options{Config: []string{
		"cluster_formation.peer_discovery_backend = classic_config",
		"cluster_formation.classic_config.nodes.1 = " + seed.Name,
	}}
	for len(nodes) < size {
		nodes = append(nodes, launch(t, join))
	}
	for _, n := range nodes[1:] {
		n.await(t)
	}
	var status struct {
		Running []string `json:"running_nodes"`
	}
	out := seed.Ctl(t, "cluster_status", "--formatter", "json")
	if err := json.Unmarshal([]byte(out), &status); err != nil {
		t.Fatalf("cluster_status: %v\n%s", err, out)
	}
	for _, n := range nodes {
		if !slices.Contains(status.Running, n.Name) {
			t.Fatalf("node %s is not running in the cluster:\n%s", n.Name, out)
		}
	}
	return nodes
}

// NodeByURL returns the node whose AMQP port a (redacted) broker URL names.
func NodeByURL(nodes []*Node, url string) *Node {
	for _, n := range nodes {
		if strings.Contains(url, ":"+strconv.Itoa(n.Port)+"/") || strings.HasSuffix(url, ":"+strconv.Itoa(n.Port)) {
			return n
		}
	}
	return nil
}
