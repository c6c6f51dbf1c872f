package alert

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// BenchmarkCheck20kHosts is one check of a fleet of 20,000 live hosts (the
// default MAX_HOSTS), each with three file systems followed by the
// forecast; it reports the engine's memory per host.
func BenchmarkCheck20kHosts(b *testing.B) {
	const n = 20_000
	entries := make([]fleet.Entry, n)
	for i := range entries {
		e := host(fmt.Sprintf("host-%05d", i), t0, 30)
		e.Figures.Filesystems = []snapshot.Filesystem{{Mountpoint: "/", Total: 100, Percent: 40},
			{Mountpoint: "/var", Total: 100, Percent: 50}, {Mountpoint: "/data", Total: 100, Percent: 60}}
		entries[i] = e
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e := NewEngine(testConfig())
	now := t0
	for i := 0; i < 10; i++ { // buckets filled
		now = now.Add(5 * time.Second)
		for j := range entries {
			entries[j].LastSeen = now
		}
		// The figure is the cost of a quiet fleet's check: a transition
		// would mean it measures another path (notifications, state).
		if r := e.Check(now, entries, true); len(r.Transitions) > 0 || r.Notification != nil {
			b.Fatalf("a quiet fleet fired: %+v", r.Transitions[:min(len(r.Transitions), 3)])
		}
	}
	for rule, n := range e.FiringByRule() {
		if n > 0 {
			b.Fatalf("%d %s alerts firing in a quiet fleet", n, rule)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perHost := float64(after.HeapAlloc-before.HeapAlloc) / n
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(5 * time.Second)
		for j := range entries {
			entries[j].LastSeen = now
		}
		if r := e.Check(now, entries, true); len(r.Transitions) > 0 {
			b.Fatalf("a quiet fleet fired at check %d: %d transitions", i, len(r.Transitions))
		}
	}
	b.ReportMetric(perHost, "engine-B/host")
}
