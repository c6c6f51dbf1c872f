// Command sysmon-consumer keeps the state of the whole fleet from RabbitMQ
// and serves it live to browsers: the dashboard, a JSON API and a WebSocket.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sysmon-dev/sysmon/internal/auth"
	"github.com/sysmon-dev/sysmon/internal/consumer"
	"github.com/sysmon-dev/sysmon/internal/daemon"
	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/logging"
	"github.com/sysmon-dev/sysmon/internal/metrics"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/sdnotify"
	"github.com/sysmon-dev/sysmon/internal/server"
	"github.com/sysmon-dev/sysmon/internal/web"
)

// version is stamped by the build (-ldflags "-X main.version=…").
var version = "dev"

const name = "sysmon-consumer"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags, err := daemon.ParseFlags(name, consumer.DefaultConfigFile, args, stderr)
	if err != nil {
		return 2
	}
	if flags.HashPassword {
		return daemon.HashPassword(os.Stdin, stdout, stderr)
	}
	if flags.Version {
		fmt.Fprintf(stdout, "%s %s\n", name, version)
		return 0
	}
	cfg, warnings, err := consumer.LoadConfig(flags.Config, flags.Explicit, os.LookupEnv)
	if err != nil {
		return daemon.ConfigError(stderr, name, err)
	}
	if flags.CheckConfig {
		return daemon.CheckConfig(stdout, name, warnings, cfg.Describe())
	}

	log := logging.New(stderr, cfg.LogLevel, logging.UnderJournald())
	for _, w := range warnings {
		log.Warn(w.String())
	}
	if cfg.Broker.InsecureTLS {
		log.Warn("RABBITMQ_TLS_INSECURE_SKIP_VERIFY is on: the broker's certificate is NOT verified, anyone on the network path can impersonate the broker and read the credentials")
	}
	notifier := sdnotify.New(log)
	watchdog := sdnotify.NewWatchdog(notifier)
	status := mq.NewStatus()
	status.OnChange = notifier.Status

	hosts := fleet.New(cfg.Fleet)
	ingest := consumer.NewIngest(hosts, cfg.MaxMessage, log.With("component", "ingest"))
	site := web.New(web.Options{Version: version, SendBuffer: cfg.SendBuffer, Thresholds: cfg.Thresholds,
		StaleAfter: cfg.Fleet.StaleAfter, Offline: cfg.Fleet.OfflineAfter, Stats: func() any { return ingest.Stats() }},
		hosts, status, log.With("component", "web"))

	reg := metrics.New("consumer", version, status)
	ingest.OnDelay = metrics.Consumer(reg, metrics.ConsumerSources{
		Received:   func() uint64 { return ingest.Stats().Received },
		Invalid:    func() uint64 { return ingest.Stats().Invalid },
		TooLarge:   func() uint64 { return ingest.Stats().TooLarge },
		Duplicates: func() uint64 { return ingest.Stats().Duplicates },
		Refused:    func() uint64 { return ingest.Stats().Refused },
		HostsByState: func() (int, int, int) {
			c := hosts.Counts(time.Now())
			return c.Live, c.Stale, c.Offline
		},
		WSClients: site.WSClients, WSDropped: site.WSDropped,
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg)
	mux.Handle("GET /metrics/fleet", metrics.FleetHandler(hosts))
	mux.Handle("/", site.Handler())
	guard := auth.NewGuard(cfg.HTTP.Auth, "/healthz", "/readyz")

	srv, err := server.Listen(cfg.HTTP.Addr(), guard.Wrap(mux), log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if cfg.HTTP.TLS() {
		srv.UseTLS(cfg.HTTP.CertFile, cfg.HTTP.KeyFile)
	}
	srv.RegisterOnShutdown(site.Close)
	scheme := "http://"
	if cfg.HTTP.TLS() {
		scheme = "https://"
	}
	log.Info("sysmon-consumer started", "version", version, "dashboard", scheme+srv.Addr().String()+"/",
		"queue", cfg.Queue.Name, "exchange", cfg.Broker.Exchange, "config", cfg.File)
	if !cfg.HTTP.Loopback() && !cfg.HTTP.Auth.Enabled() {
		log.Warn("the dashboard is reachable from the network without authentication (set AUTH_BASIC or AUTH_BEARER_SHA256)",
			"listen", srv.Addr().String())
	}
	notifier.Ready()
	notifier.Status(status.Line())

	dialer := mq.NewDialer(cfg.Broker, name+"@"+daemon.Hostname(), log.With("component", "mq"), status)
	dialer.Beat = watchdog.Loop("broker")
	cons := &mq.Consumer{Dialer: dialer, Exchange: cfg.Broker.Exchange, ExchangeType: cfg.Broker.ExchangeType,
		Queue: cfg.Queue, Tag: name + "@" + daemon.Hostname(), Log: log.With("component", "mq"), Handle: ingest.Handle}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	mqDone := make(chan error, 1)
	go func() { mqDone <- cons.Run(runCtx) }()
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Run(runCtx) }()
	wdDone := make(chan error, 1)
	go func() { wdDone <- watchdog.Run(runCtx) }()

	code := 0
	select {
	case <-ctx.Done():
	case err := <-srvDone:
		log.Error("http server failed", "err", err)
		srvDone <- nil
		code = 1
	}
	log.Info("shutting down")
	notifier.Stopping()
	cancel()
	<-srvDone
	site.Close()
	<-mqDone
	<-wdDone
	s := ingest.Stats()
	log.Info("stopped", "received_total", s.Received, "invalid_total", s.Invalid+s.TooLarge)
	return code
}
