package history_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/consumer"
	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/history"
	"github.com/sysmon-dev/sysmon/internal/hub"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// BenchmarkIngestFleet is issue 16's "100,000 hosts at 10 s" without the
// broker: the consumer's parts as main wires them (ingest, fleet, the hub
// ticking every 250 ms, the recorder ticking every second, the store's Run
// writing, sealing and saving the latest entries), all on the real clock,
// take snapshots of hosts hosts in turn as fast as they go, as a backlog
// drains, the fleet's hosts staying live. One op is one snapshot filed (its encoding included, the same at
// every size); the figure to read is how ns/op grows with the hosts. Every
// host is filed once before the timer starts, so that the fleet, the hub
// and the store's head hold them all; run it for a minute or more
// (-benchtime 600000x) so that it includes a seal and a write of the
// latest entries.
func BenchmarkIngestFleet(b *testing.B) {
	for _, hosts := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) {
			log := slog.New(slog.DiscardHandler)
			ret := history.Retention{Raw: time.Hour, Minute: 7 * 24 * time.Hour, Hour: 365 * 24 * time.Hour}
			store, err := history.Open(b.TempDir(), ret, log)
			if err != nil {
				b.Fatal(err)
			}
			f := fleet.New(fleet.Config{HistorySize: 300, Recent: store.Recent, MaxHosts: 2 * hosts, StaleAfter: 3, OfflineAfter: 10,
				StaleFloor: 5 * time.Second, OfflineFloor: 15 * time.Second, Expire: 24 * time.Hour})
			dashboards := hub.New(f, hub.Options{Tick: 250 * time.Millisecond}, log)
			in := consumer.NewIngest(f, 1<<20, log)
			rec := consumer.NewRecorder(f, store, 365*24*time.Hour, log)
			in.History = rec
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for _, run := range []func(context.Context) error{dashboards.Run, rec.Run, store.Run} {
				wg.Add(1)
				go func() { defer wg.Done(); _ = run(ctx) }()
			}
			defer func() { cancel(); wg.Wait(); _ = store.Close() }()

			snaps := make([]*snapshot.Snapshot, hosts)
			for h := range snaps {
				snaps[h] = simHost(h)
				// A host's state is to change only when the consumer
				// falls behind the fleet (then the events of hosts going
				// stale and offline are real work): 60 s keeps them
				// live at the rates this drains at.
				snaps[h].IntervalSeconds = 60
			}
			file := func(i int) {
				s := snaps[i%hosts]
				s.Seq++
				t := time.Now()
				s.Time = &t
				s.CPUPercent = float64(i % 100)
				body, err := snapshot.Encode(s)
				if err != nil {
					b.Fatal(err)
				}
				in.Handle(&amqp.Delivery{Body: body})
			}
			for i := range hosts {
				file(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				file(i)
			}
			b.StopTimer()
			if c := f.Counts(time.Now()); c.Hosts != hosts {
				b.Fatalf("%d hosts filed, want %d", c.Hosts, hosts)
			}
			// The live heap with every part still running: what the
			// consumer holds per host (-heap-profile: who holds it).
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			b.ReportMetric(float64(m.HeapAlloc)/float64(hosts), "heap-B/host")
			if *heapProfile != "" {
				out, err := os.Create(fmt.Sprintf("%s.%d", *heapProfile, hosts))
				if err == nil {
					err = errors.Join(pprof.WriteHeapProfile(out), out.Close())
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			runtime.KeepAlive(dashboards)
		})
	}
}
