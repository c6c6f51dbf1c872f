package brokertest

import (
	"strconv"
	"strings"
	"sync"
	"testing"
)

// StartCluster boots size private nodes at once and joins them into one
// cluster (the first node is the seed). The test's cleanup stops them all,
// in parallel. Quorum queues need three nodes to survive the loss of one.
func StartCluster(t testing.TB, size int) []*Node {
	t.Helper()
	nodes := make([]*Node, size)
	for i := range nodes {
		nodes[i] = launch(t, Options{})
	}
	// Cleanups run last-in first-out: this one, stopping every node at
	// once, runs before the nodes' own (which then find them stopped).
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			if n != nil {
				wg.Add(1)
				go func() { defer wg.Done(); n.stop() }()
			}
		}
		wg.Wait()
	})
	for _, n := range nodes {
		n.await(t)
	}
	for _, n := range nodes[1:] {
		n.Ctl(t, "stop_app")
		n.Ctl(t, "join_cluster", nodes[0].Name)
		n.Ctl(t, "start_app")
	}
	for _, n := range nodes {
		n.Ctl(t, "await_startup", "--timeout", "60")
	}
	status := nodes[0].Ctl(t, "cluster_status", "--formatter", "json")
	for _, n := range nodes {
		if !strings.Contains(status, n.Name) {
			t.Fatalf("node %s is not in the cluster:\n%s", n.Name, status)
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
