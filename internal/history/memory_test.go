package history_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/consumer"
	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/history"
	"github.com/sysmon-dev/sysmon/internal/hub"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

var (
	heapHosts   = flag.Int("heap-hosts", 2000, "hosts of BenchmarkConsumerHeap (10000: a few minutes of CPU each; 100000, issue 16's fleet: about 18 minutes each)")
	heapLimit   = flag.Int("heap-limit", 0, "BenchmarkConsumerHeap runs under this soft memory limit in MiB (debug.SetMemoryLimit, as GOMEMLIMIT sets it); 0: none")
	heapProfile = flag.String("heap-profile", "", "BenchmarkConsumerHeap writes the heap profile where it measures to this file (who holds the heap: go tool pprof -sample_index=inuse_space)")
)

// BenchmarkConsumerHeap is issue 12's and 16's memory figure without the
// broker, and so without the shared machine's noise: the consumer's parts
// as main wires them (ingest, fleet, hub ticking, recorder, store) take
// -heap-hosts hosts sending every simulated second for 300 seconds (a full
// 300-point live window), and the live heap after a collection is
// reported: history off (the live window in memory), on (the live window
// read from the store, which runs on a simulated clock stepped every second
// as Run does), and on with the live window in memory too (as before the
// fleet read it from the store: the baseline). Run it once (-benchtime 1x);
// -memprofile shows who holds the heap.
func BenchmarkConsumerHeap(b *testing.B) {
	for _, c := range []struct {
		name          string
		store, window bool
	}{{"history=off", false, true}, {"history=on", true, false}, {"history=on,window=memory", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				heap, held := consumerHeap(b, *heapHosts, 300, c.store, c.window)
				b.ReportMetric(heap, "heap-MiB")
				b.ReportMetric(heap*(1<<20)/float64(*heapHosts), "heap-B/host")
				b.ReportMetric(held, "peak-held-MiB")
			}
		})
	}
}

// consumerHeap returns the live heap at the end and the most heap memory
// held from the system at any second (what the process's anonymous RSS
// follows: the live heap, the collector's headroom, a seal's transaction).
func consumerHeap(b *testing.B, hosts, seconds int, on, windowInMemory bool) (live, held float64) {
	b.StopTimer()
	if *heapLimit > 0 {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(*heapLimit) << 20))
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.StartTimer()
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Simulated seconds end a minute ago: sampling times the recorder
	// believes.
	start := time.Now().Add(-time.Duration(seconds)*time.Second - time.Minute).Truncate(time.Minute)
	clock := start
	cfg := fleet.Config{HistorySize: 300, MaxHosts: 2 * hosts, StaleAfter: 3, OfflineAfter: 10}
	var store *history.Store
	if on {
		var err error
		ret := history.Retention{Raw: time.Hour, Minute: 7 * 24 * time.Hour, Hour: 365 * 24 * time.Hour}
		store, err = history.OpenAt(b.TempDir(), ret, log, func() time.Time { return clock })
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		if !windowInMemory {
			cfg.Recent = store.Recent
		}
	}
	f := fleet.New(cfg)
	dashboards := hub.New(f, hub.Options{Tick: 250 * time.Millisecond}, log)
	go dashboards.Run(ctx)
	in := consumer.NewIngest(f, 1<<20, log)
	var rec *consumer.Recorder
	if on {
		rec = consumer.NewRecorder(f, store, 365*24*time.Hour, log)
		in.History = rec
	}
	snaps := make([]*snapshot.Snapshot, hosts)
	for h := range snaps {
		snaps[h] = simHost(h)
	}
	for sec := range seconds {
		clock = start.Add(time.Duration(sec) * time.Second)
		for h, s := range snaps {
			s.Seq++
			t := clock
			s.Time = &t
			s.CPUPercent = float64((h + sec) % 100)
			for i := range s.CPUPerCore {
				s.CPUPerCore[i] = float64((h + sec + i) % 100)
			}
			body, err := snapshot.Encode(s)
			if err != nil {
				b.Fatal(err)
			}
			in.Handle(&amqp.Delivery{Body: body})
			if on && (h+1)%40_000 == 0 {
				// As Run's flush every 250 ms would: the store buffers
				// at most 50,000 samples between two (more hosts than
				// that a second lost the rest: issue 16's 100,000).
				history.Step(store, clock)
			}
		}
		if on {
			rec.Tick(time.Now())
			history.Step(store, clock.Add(time.Second))
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		held = max(held, float64(m.HeapSys-m.HeapReleased)/(1<<20))
	}
	b.StopTimer()
	if c := f.Counts(time.Now()); c.Hosts != hosts || c.Accepted != uint64(hosts*seconds) {
		b.Fatalf("filed %+v, want %d hosts and %d snapshots", c, hosts, hosts*seconds)
	}
	if _, pts, _ := f.Host(fmt.Sprintf("host-%05d", hosts-1), time.Now(), -1); len(pts) != min(seconds, 300) {
		b.Fatalf("%d points in the live chart, want %d", len(pts), min(seconds, 300))
	}
	runtime.GC()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if *heapProfile != "" {
		out, err := os.Create(*heapProfile)
		if err == nil {
			err = errors.Join(pprof.WriteHeapProfile(out), out.Close())
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	runtime.KeepAlive(f)
	runtime.KeepAlive(dashboards)
	runtime.KeepAlive(store)
	b.StartTimer()
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20), held
}

// simHost is a host like the load generator's: 2 to 16 cores, 1 to 3 file
// systems and disks, 1 or 2 interfaces, a 2 KB message.
func simHost(h int) *snapshot.Snapshot {
	cores, nfs, nif := 2+h%15, 1+h%3, 1+h%2
	s := &snapshot.Snapshot{Timestamp: "2026-11-30T00:00:00Z", Schema: snapshot.Schema, Host: fmt.Sprintf("host-%05d", h),
		HostID: fmt.Sprintf("%08x-0000-0000-0000-%012x", h, h), InstanceID: fmt.Sprintf("%08x-0000-4000-a000-000000000000", h),
		IntervalSeconds: 1, AgentVersion: "0.1.0", Platform: "Linux", PlatformRelease: "6.8.0-49-generic",
		Processor: "AMD EPYC 7763 64-Core Processor", UptimeSeconds: 86400, CPUCount: cores,
		Memory: snapshot.Memory{Total: 32 << 30, Available: 16 << 30, Percent: 50}, Load: &snapshot.Load{}, Swap: &snapshot.Swap{Total: 2 << 30},
		CPUPerCore: make([]float64, cores), CPUSeconds: &snapshot.CPUSeconds{}, DiskIO: &snapshot.DiskIO{}, Network: &snapshot.Network{}}
	for _, m := range []*[]float64{&s.CPUSeconds.User, &s.CPUSeconds.Nice, &s.CPUSeconds.System, &s.CPUSeconds.Idle,
		&s.CPUSeconds.Iowait, &s.CPUSeconds.Irq, &s.CPUSeconds.Softirq, &s.CPUSeconds.Steal} {
		*m = make([]float64, cores)
		for i := range *m {
			(*m)[i] = 12345.67
		}
	}
	for k := range nfs {
		fs := snapshot.Filesystem{Mountpoint: []string{"/", "/var", "/home"}[k], Device: fmt.Sprintf("/dev/nvme%dn1p1", k), Fstype: "ext4",
			Total: 500 << 30, Used: 200 << 30, Free: 300 << 30, Percent: 40}
		s.Filesystems = append(s.Filesystems, fs)
		s.DiskIO.Disks = append(s.DiskIO.Disks, snapshot.DiskCounters{Name: fmt.Sprintf("nvme%dn1", k), ReadBytes: 1 << 40, WriteBytes: 1 << 40, Reads: 1 << 30, Writes: 1 << 30})
	}
	for k := range nif {
		s.Network.Interfaces = append(s.Network.Interfaces, snapshot.Interface{Name: []string{"eth0", "eth1"}[k], RxBytesTotal: 1 << 40, TxBytesTotal: 1 << 40})
	}
	return s
}
