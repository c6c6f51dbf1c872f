// Command sysmon-publisher samples this host and publishes snapshots to
// RabbitMQ, periodically and on GET/POST /publish.
package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/sysmon-dev/sysmon/internal/collect"
	"github.com/sysmon-dev/sysmon/internal/daemon"
	"github.com/sysmon-dev/sysmon/internal/metrics"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/publisher"
	"github.com/sysmon-dev/sysmon/internal/server"
)

// version is stamped by the build (-ldflags "-X main.version=…").
var version = "dev"

const name = "sysmon-publisher"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// routes puts /metrics beside the service's endpoints. GET /publish changes
// state too, so no method of it may come from a page of another site.
func routes(svc, metrics http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.Handle("/publish", server.SameOriginOnly(svc))
	mux.Handle("/", svc)
	return mux
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var printOnce bool
	cfg, proc, exit := daemon.Start(name, version, publisher.DefaultConfigFile, args, stdout, stderr, publisher.LoadConfig,
		func(fs *flag.FlagSet) {
			fs.BoolVar(&printOnce, "print", false, "take one sample, print the snapshot that would be published and exit")
		})
	if proc == nil {
		return exit
	}
	log, notifier, watchdog, status := proc.Log, proc.Notifier, proc.Watchdog, proc.Status
	if printOnce {
		return printSnapshot(ctx, cfg, log, stdout)
	}

	// The publisher runs on every host: a soft heap limit stops the runtime
	// from keeping garbage it could return (measured over a minute at a 1 s
	// interval: 13.1 MiB RSS without it, 11.0 MiB with it, the same CPU).
	// GOMEMLIMIT in the environment overrides it.
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(9 << 20)
	}
	// Its live heap is under 1 MiB, and the runtime's 4 MiB minimum heap
	// goal let garbage pile up for minutes before the first collection: a
	// quarter of it (1 MiB) keeps the heap near what is live (measured over
	// 4 minutes side by side: RssAnon 4.6 -> 3.5 MiB, CPU no higher).
	// GOGC in the environment overrides it.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(25)
	}
	// Nor does it need parallelism: one P saves the wake-ups of a second
	// thread on every sample and publish (measured: 1.22 -> 1.04 ms of CPU
	// per second at a 1 s interval). A hung read still releases its P.
	// GOMAXPROCS in the environment overrides it.
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(1)
	}

	sampler := collect.New(log.With("component", "collect"), cfg.CollectTimeout)
	outbox := mq.NewOutbox(cfg.OutboxSize)
	// On disk, snapshots the broker has not confirmed outlive this process.
	// A directory that cannot be used is no reason to stop sampling: the
	// outbox stays in memory, and the log and GET / say so.
	if cfg.OutboxDir != "" {
		n, err := outbox.Persist(cfg.OutboxDir, log.With("component", "outbox"))
		switch {
		case err != nil:
			log.Warn("outbox kept in memory only: snapshots not yet confirmed are lost if the publisher stops", "err", err)
		case n > 0:
			log.Info("an earlier run left snapshots the broker had not confirmed: they are sent first", "snapshots", n, "file", outbox.Counters().Disk)
		}
	}
	svc := publisher.New(cfg, sampler, outbox, status, log, version)

	reg := metrics.New("publisher", version, status)
	outbox.OnConfirm = metrics.Publisher(reg, metrics.PublisherSources{
		Published: svc.Published, RateLimited: svc.RateLimited, Outbox: outbox.Len,
		Confirmed: func() uint64 { return outbox.Counters().Confirmed },
		Dropped:   func() uint64 { return outbox.Counters().Dropped },
		OutboxDisk: func() (bool, uint64, uint64) {
			c := outbox.Counters()
			return c.Disk != "", c.DiskBytes, c.DiskSyncs
		},
	})
	srv, err := server.Open(daemon.Listen(cfg.HTTP), routes(svc.Handler(), reg), log, "/publish")
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	outboxFile := outbox.Counters().Disk
	if outboxFile == "" {
		outboxFile = "(memory only)"
	}
	log.Info("sysmon-publisher started", "version", version, "listen", srv.URL(),
		"host", cfg.HostName, "instance_id", svc.Instance(), "interval", cfg.Interval,
		"exchange", cfg.Broker.Exchange, "config", cfg.File, "outbox", outboxFile)
	notifier.Ready()
	notifier.Status(status.Line())

	// The loops prove they are alive to the watchdog, which checks every
	// half interval that each beat within the interval: a beat every
	// quarter is enough, and no watchdog needs no timer at all.
	beatEvery := watchdog.Interval() / 4
	dialer := mq.NewDialer(daemon.Dial(cfg.Broker), name+"@"+cfg.HostName, log.With("component", "mq"), status)
	dialer.Beat = watchdog.Loop("broker")
	pub := &mq.Publisher{Dialer: dialer, Exchange: cfg.Broker.Exchange, ExchangeType: cfg.Broker.ExchangeType,
		Outbox: outbox, Log: log.With("component", "mq"), DrainTimeout: 2 * time.Second,
		UserID: cfg.UserID, NoUserID: cfg.NoUserID, BeatEvery: beatEvery}

	// Stopped in this order: what adds to the outbox (the periodic loop,
	// which queues a goodbye message, and /publish); then the broker side,
	// which has the drain timeout to send what is queued; then the journal,
	// which writes what is still owed.
	var g daemon.Group
	g.Add(1, "http server", srv.Run)
	g.Add(1, "watchdog", watchdog.Run)
	beat := watchdog.Loop("periodic")
	g.Add(1, "periodic loop", func(ctx context.Context) error { return svc.Run(ctx, beat, beatEvery) })
	g.Add(2, "broker", pub.Run)
	g.Add(3, "journal", func(ctx context.Context) error {
		if err := outbox.RunJournal(ctx); err != nil {
			log.Warn("cannot close the outbox file", "err", err)
		}
		return nil
	})
	err = g.Run(ctx, proc.Stopping)
	c := outbox.Counters()
	log.Info("stopped", "confirmed_total", c.Confirmed, "left_in_outbox", c.Waiting, "dropped_total", c.Dropped,
		"left_on_disk", c.Stored)
	if err != nil {
		return 1
	}
	return 0
}

// printSnapshot is -print: one sample over a second, written to stdout as
// the JSON that would be published; nothing goes to the broker.
func printSnapshot(ctx context.Context, cfg publisher.Config, log *slog.Logger, stdout io.Writer) int {
	sampler := collect.New(log.With("component", "collect"), cfg.CollectTimeout)
	svc := publisher.New(cfg, sampler, mq.NewOutbox(1), mq.NewStatus(), log, version)
	// Rates (CPU, network, disk) are measured from the collector's first
	// reading: give them a second to mean something.
	select {
	case <-ctx.Done():
		return 1
	case <-time.After(time.Second):
	}
	if err := svc.Print(ctx, stdout); err != nil {
		log.Error("cannot print a snapshot", "err", err)
		return 1
	}
	return 0
}
