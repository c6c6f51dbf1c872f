package fleet

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkCounts is /api/status's and each scrape's look at the fleet:
// the hosts' states counted, under the fleet's lock, at 100,000 hosts.
func BenchmarkCounts(b *testing.B) {
	f := New(Config{HistorySize: 1, StaleAfter: 3, OfflineAfter: 10})
	now := time.Now()
	for i := range 100_000 {
		s := snap(fmt.Sprint("host-", i), "i", 1)
		f.Apply(s, body(s), "", now.Add(-time.Duration(i%20)*time.Second))
	}
	for b.Loop() {
		f.Counts(now)
	}
}
