package consumer

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/history"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// BenchmarkIngestHistory is the ingest path (decode, validate, file into a
// fleet of 1,000 hosts) without and with the history (the Recorder and the
// real store writing behind in b.TempDir()): the issue's "history on ≥ 0.8×
// history off" per message, outside the broker. The snapshots carry no
// instance id, so that their repetition is not dropped as duplicates.
func BenchmarkIngestHistory(b *testing.B) {
	const hosts = 1000
	bodies := make([][]byte, hosts)
	for i := range bodies {
		now := time.Now()
		s := &snapshot.Snapshot{Timestamp: "t", CPUPercent: 12.5, Memory: snapshot.Memory{Total: 1 << 34, Available: 1 << 33, Percent: 50},
			Platform: "Linux", Schema: 1, Host: fmt.Sprintf("host-%05d", i), Time: &now, IntervalSeconds: 1, CPUCount: 8,
			CPUPerCore:  []float64{12.5, 3, 45, 0, 7, 99, 23, 1},
			Load:        &snapshot.Load{Load1: 0.1, Load5: 0.2, Load15: 0.3},
			Filesystems: []snapshot.Filesystem{{Mountpoint: "/", Total: 100, Used: 13, Free: 87, Percent: 13}, {Mountpoint: "/var", Total: 100, Used: 50, Free: 50, Percent: 50}},
			Network:     &snapshot.Network{RxBytesPerSec: 1234, TxBytesPerSec: 99}}
		bodies[i], _ = snapshot.Encode(s)
	}
	for _, withHistory := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[withHistory], func(b *testing.B) {
			f := fleet.New(fleet.Config{HistorySize: 300, StaleAfter: 3, OfflineAfter: 10})
			in := NewIngest(f, 1<<20, slog.New(slog.DiscardHandler))
			if withHistory {
				store, err := history.Open(b.TempDir(), history.Retention{Raw: time.Hour, Minute: 7 * day, Hour: year}, slog.New(slog.DiscardHandler))
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { defer close(done); _ = store.Run(ctx) }()
				defer func() { cancel(); <-done; _ = store.Close() }()
				in.History = NewRecorder(f, store, year, slog.New(slog.DiscardHandler))
			}
			d := &amqp.Delivery{}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				d.Body = bodies[i%hosts]
				in.Handle(d)
			}
		})
	}
}

// BenchmarkRestore10000 is the consumer's start with a store of 10,000
// hosts, each with a latest snapshot and a minute of raw samples at 1 Hz:
// the time until the fleet is back (before the dashboard listens), and the
// heap the restored fleet takes.
func BenchmarkRestore10000(b *testing.B) {
	const hosts, perHost = 10_000, 60
	dir := b.TempDir()
	ret := history.Retention{Raw: time.Hour, Minute: 7 * day, Hour: year}
	store, err := history.Open(dir, ret, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = store.Run(ctx) }()
	start := time.Now().Add(-perHost * time.Second)
	for h := range hosts {
		name := fmt.Sprintf("host-%05d", h)
		now := start.Add(perHost * time.Second)
		s := &snapshot.Snapshot{Timestamp: "t", CPUPercent: 12.5, Memory: snapshot.Memory{Total: 1 << 34, Available: 1 << 33, Percent: 50},
			Platform: "Linux", Schema: 1, Host: name, InstanceID: "i", Seq: perHost, Time: &now, IntervalSeconds: 1, CPUCount: 8,
			CPUPerCore:  []float64{12.5, 3, 45, 0, 7, 99, 23, 1},
			Filesystems: []snapshot.Filesystem{{Mountpoint: "/", Total: 100, Used: 13, Free: 87, Percent: 13}, {Mountpoint: "/var", Total: 100, Used: 50, Free: 50, Percent: 50}}}
		body, _ := snapshot.Encode(s)
		fig := fleet.Derive(s)
		for i := range perHost {
			store.Add(name, SampleOf(&fig, start.Add(time.Duration(i)*time.Second)))
		}
		store.SaveLatest(name, history.Latest{Host: name, Body: body, LastSeen: now})
		if h%500 == 499 {
			// Let the store's buffer (50,000 samples) drain.
			for store.Stats().Written < uint64((h+1)*perHost) {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	cancel()
	<-done
	if st := store.Stats(); st.Dropped > 0 {
		b.Fatalf("the store dropped %d of the samples written for the benchmark: %+v", st.Dropped, st)
	}
	if err := store.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		store, err := history.Open(dir, ret, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		f := fleet.New(fleet.Config{HistorySize: perHost, Recent: store.Recent, MaxHosts: 20_000, StaleAfter: 3, OfflineAfter: 10})
		n, skipped := Restore(f, store.Latest(), 1<<20, 0, slog.New(slog.DiscardHandler))
		b.StopTimer()
		_, pts, _ := f.Host("host-09999", time.Now(), -1)
		if n != hosts || skipped != 0 || len(pts) != perHost {
			b.Fatalf("restored %d hosts (skipped %d), %d points for the first; want %d with %d", n, skipped, len(pts), hosts, perHost)
		}
		c := f.Counts(time.Now())
		b.ReportMetric(float64(c.Bytes)/(1<<20), "fleet-MiB")
		_ = store.Close()
		b.StartTimer()
	}
}

// BenchmarkTick10000 is the recorder's look at a fleet of 10,000 hosts for
// the ones that went stale or offline (forced at every tick: by itself it
// looks only when a host's state is due to change).
func BenchmarkTick10000(b *testing.B) {
	f := fleet.New(fleet.Config{HistorySize: 10, MaxHosts: 20_000, StaleAfter: 3, OfflineAfter: 10})
	now := time.Now()
	for i := range 10_000 {
		s := &snapshot.Snapshot{Timestamp: "t", CPUPercent: 1, Memory: snapshot.Memory{Total: 1, Percent: 1},
			Host: fmt.Sprintf("host-%05d", i), InstanceID: "i", Seq: 1, IntervalSeconds: 1}
		body, _ := snapshot.Encode(s)
		f.Apply(s, body, "", now)
	}
	rec := NewRecorder(f, discardStore{}, time.Hour, slog.New(slog.DiscardHandler))
	rec.Tick(now)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec.looked = time.Time{}
		rec.Tick(now)
	}
}

type discardStore struct{}

func (discardStore) Add(string, history.Sample)        {}
func (discardStore) AddEvent(history.Event)            {}
func (discardStore) SaveLatest(string, history.Latest) {}
