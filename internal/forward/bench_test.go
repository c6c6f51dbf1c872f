package forward

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/packed"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// BenchmarkForward is one shard's forwarding ceiling: how many hosts'
// snapshots (1.4 KB, a typical host's) a forwarder gets confirmed per second,
// each one persistent, with window=N of them waiting for their confirm at
// once (window=1, each confirmed before the next, is the baseline). A shard
// can forward at most this × FORWARD_EVERY hosts.
func BenchmarkForward(b *testing.B) {
	for _, w := range []int{1, DefaultWindow} {
		b.Run(fmt.Sprintf("window=%d", w), func(b *testing.B) { benchForward(b, w) })
	}
}

func benchForward(b *testing.B, window int) {
	url := brokertest.Shared(b)
	// A queue bound, as the merged consumer's is: persistent messages are
	// confirmed once queued (and written).
	exchange, _, _ := brokertest.Fanout(b, url, amqp.Table{"x-max-length": int64(1000), "x-overflow": "drop-head"})
	body := make([]byte, 1400)
	for i := range body {
		body[i] = 'x'
	}
	n := b.N
	entries := make([]fleet.HostState, n)
	now := time.Now()
	for i := range entries {
		entries[i] = fleet.HostState{Name: fmt.Sprintf("host-%07d", i), LastSeen: now, Snapshot: packed.Of(body)}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := New(Options{Exchange: exchange, Every: time.Hour, Backlog: n + 1, Window: window,
		States: func(_ time.Time, buf []fleet.HostState) []fleet.HostState { return append(buf[:0], entries...) }, Log: log,
		Dialer: mq.NewDialer(mq.DialConfig{URLs: []string{url}, Shown: []string{"test"}, Heartbeat: 10 * time.Second, MaxDelay: time.Second},
			"forward-bench", log, mq.NewStatus())})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.pub.Run(ctx) }()
	b.ResetTimer()
	start := time.Now()
	for slot := range Slots {
		f.forward(slot)
	}
	for f.Stats().Confirmed < uint64(n) {
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/el.Seconds(), "forwards/s")
}

// BenchmarkScan is the forwarder's cost per slot (FORWARD_EVERY/10) besides
// publishing: reading the fleet's hosts (fleet.States) and picking the tenth
// that is due, with nothing new to send. Ten of these per FORWARD_EVERY.
func BenchmarkScan(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			f := fleet.New(fleet.Config{HistorySize: 1, MaxHosts: n, StaleAfter: 3, OfflineAfter: 10})
			now := time.Now()
			for i := range n {
				host := fmt.Sprintf("host-%07d", i)
				body := fmt.Appendf(nil, `{"schema":1,"host":%q,"timestamp":"2026-11-27T03:12:27.663874","cpu_percent":12.5,"memory":{"total":1,"available":1,"percent":1},"disk":{"total":1,"used":1,"free":1},"platform":"Linux","platform_release":"6.1","processor":"x"}`, host)
				s, err := snapshot.Decode(body, 1<<20)
				if err != nil {
					b.Fatal(err)
				}
				f.Apply(s, body, "", now)
			}
			fw := New(Options{Exchange: "unused", Every: time.Hour, States: f.States, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			for slot := range Slots {
				fw.forward(slot) // all sent once: later scans find nothing new
			}
			b.ReportAllocs()
			slot := 0
			for b.Loop() {
				fw.forward(slot)
				slot = (slot + 1) % Slots
			}
		})
	}
}
