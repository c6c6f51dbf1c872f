// Command sysmon-consumer keeps the state of the whole fleet from RabbitMQ
// and serves it live to browsers: the dashboard, a JSON API and a WebSocket.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sysmon-dev/sysmon/internal/alert"
	"github.com/sysmon-dev/sysmon/internal/consumer"
	"github.com/sysmon-dev/sysmon/internal/daemon"
	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/forward"
	"github.com/sysmon-dev/sysmon/internal/hub"
	"github.com/sysmon-dev/sysmon/internal/metrics"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/notify"
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
	var testAlert bool
	cfg, proc, exit := daemon.Start(name, version, consumer.DefaultConfigFile, args, stdout, stderr, consumer.LoadConfig,
		func(fs *flag.FlagSet) {
			fs.BoolVar(&testAlert, "test-alert", false, "send a test notification to every configured alert channel, print each result and exit (1 if any failed)")
		})
	if proc == nil {
		return exit
	}
	log, notifier, watchdog, status := proc.Log, proc.Notifier, proc.Watchdog, proc.Status
	channels := alertChannels(cfg.Alerts)
	if testAlert {
		return sendTestAlert(ctx, channels, stdout)
	}

	// History first: with a store, the live charts are read from it and the
	// fleet keeps only each host's latest point in memory; then the fleet
	// as it was, before the hub watches it (the restored hosts are its
	// first state).
	hist := openHistory(cfg, log.With("component", "history"))
	cfg.Fleet.Recent = hist.recent()
	hosts := fleet.New(cfg.Fleet)
	hist.restore(cfg, hosts)
	ingest := consumer.NewIngest(hosts, cfg.MaxMessage, log.With("component", "ingest"))
	ingest.Identity = cfg.Identity
	ingest.History = hist.recorder
	dashboards := hub.New(hosts, hub.Options{Tick: cfg.Tick, SendBuffer: cfg.SendBuffer}, log.With("component", "hub"))
	thresholds := make(map[string]web.Thresholds, len(cfg.Thresholds))
	for k, t := range cfg.Thresholds {
		thresholds[k] = web.Thresholds(t)
	}
	alerts, err := alert.NewService(cfg.Rules(), alert.Options{Dir: cfg.StateDir, Every: cfg.Alerts.Check, Channels: channels, Hosts: hosts.Hosts,
		Broker: func() (bool, time.Time) { return status.Connected(), status.Get().Since }, Log: log.With("component", "alert")})
	if err != nil {
		log.Error("cannot start", "err", err)
		hist.close()
		return 1
	}
	site := web.New(web.Options{Version: version, Thresholds: thresholds,
		Limits: cfg.Fleet, Delay: ingest.Delay, Stats: func() any { return ingest.Stats() },
		Alerts:  alerts,
		History: hist.reader(), NoHistory: hist.why, HistoryFailed: hist.failed, HistoryStats: hist.stats(),
		Forgotten: hist.forget},
		hosts, dashboards, status, log.With("component", "web"))

	reg := metrics.New("consumer", version, status)
	ingest.OnDelay = metrics.Consumer(reg, metrics.ConsumerSources{
		Received:        func() uint64 { return ingest.Stats().Received },
		Invalid:         func() uint64 { return ingest.Stats().Invalid },
		TooLarge:        func() uint64 { return ingest.Stats().TooLarge },
		Duplicates:      func() uint64 { return ingest.Stats().Duplicates },
		Refused:         func() uint64 { return ingest.Stats().Refused },
		Unauthenticated: func() uint64 { return ingest.Stats().Unauthenticated },
		HostsByState: func() (int, int, int) {
			c := hosts.Counts(time.Now())
			return c.Live, c.Stale, c.Offline
		},
		HostsRemoved: func() (uint64, uint64) { c := hosts.Counts(time.Now()); return c.Evicted, c.Expired },
		HostsMemory:  func() (int64, int64) { c := hosts.Counts(time.Now()); return c.Bytes, c.MaxBytes },
		WSClients:    dashboards.Clients, WSDropped: dashboards.Dropped,
	})
	metrics.Alerts(reg, metrics.AlertSources{Firing: alerts.FiringByRule, Delivery: func() map[string][3]uint64 {
		out := map[string][3]uint64{}
		for ch, st := range alerts.ChannelStats() {
			out[ch] = [3]uint64{st.Sent, st.Failed, uint64(st.Pending)}
		}
		return out
	}})
	fwd := newForwarder(cfg, hosts, reg, log)
	hist.metrics(reg)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg)
	mux.Handle("GET /metrics/fleet", metrics.FleetHandler(hosts))
	mux.Handle("/", site.Handler())

	srv, err := server.Open(daemon.Listen(cfg.HTTP), mux, log, "the dashboard")
	if err != nil {
		log.Error("cannot start", "err", err)
		hist.close()
		return 1
	}
	srv.RegisterOnShutdown(site.Close)
	log.Info("sysmon-consumer started", "version", version, "dashboard", srv.URL()+"/",
		"queue", cfg.Queue.Name, "exchange", cfg.Broker.Exchange, "config", cfg.File)
	notifier.Ready()
	notifier.Status(status.Line())

	dialer := mq.NewDialer(daemon.Dial(cfg.Broker), name+"@"+daemon.Hostname(), log.With("component", "mq"), status)
	dialer.Beat = watchdog.Loop("broker")
	cons := &mq.Consumer{Dialer: dialer, Exchange: cfg.Broker.Exchange, ExchangeType: cfg.Broker.ExchangeType,
		Queue: cfg.Queue, Tag: name + "@" + daemon.Hostname(), Log: log.With("component", "mq"), Handle: ingest.Handle}

	// Stopped in this order: ingest first, then the HTTP server and, once
	// it has stopped, the dashboards' WebSockets; then the
	// history, once they have, so that it writes what they gave it.
	var g daemon.Group
	g.Add(1, "broker", cons.Run)
	g.Add(1, "watchdog", watchdog.Run)
	g.Add(1, "alerts", alerts.Run)
	g.Add(1, "dashboard ticks", dashboards.Run)
	if fwd != nil {
		g.Add(1, "forwarder", fwd.Run)
	}
	if hist.store != nil {
		g.Add(1, "history events", hist.recorder.Run)
		g.Add(3, "history", hist.store.Run)
	}
	g.Add(2, "http server", func(ctx context.Context) error {
		defer site.Close()
		return srv.Run(ctx)
	})
	err = g.Run(ctx, proc.Stopping)
	hist.close()
	s := ingest.Stats()
	log.Info("stopped", "received_total", s.Received, "invalid_total", s.Invalid+s.TooLarge)
	if err != nil {
		return 1
	}
	return 0
}

// newForwarder is the shard's forwarder to the merged view, with its
// metrics, or nil when FORWARD_EXCHANGE is not set.
func newForwarder(cfg consumer.Config, hosts *fleet.Fleet, reg *metrics.Registry, log *slog.Logger) *forward.Forwarder {
	if cfg.Forward.Exchange == "" {
		return nil
	}
	flog := log.With("component", "forward")
	f := forward.New(forward.Options{Exchange: cfg.Forward.Exchange, Every: cfg.Forward.Every, States: hosts.States,
		Dialer: mq.NewDialer(daemon.Dial(cfg.Broker), name+"-forward@"+daemon.Hostname(), flog, mq.NewStatus()), Log: flog})
	st := func() forward.Stats { return f.Stats() }
	metrics.Forward(reg, metrics.ForwardSources{
		Queued: func() uint64 { return st().Queued }, Confirmed: func() uint64 { return st().Confirmed },
		Dropped: func() uint64 { return st().Dropped }, Skipped: func() uint64 { return st().Skipped },
		Waiting: func() int { return st().Waiting },
	})
	return f
}

// alertChannels are the configured notification channels.
func alertChannels(a consumer.Alerts) []alert.Channel {
	var out []alert.Channel
	if a.WebhookURL != "" {
		out = append(out, &notify.Webhook{URL: a.WebhookURL, Secret: []byte(a.WebhookSecret), Version: version})
	}
	if s := a.SMTP; s.Host != "" {
		out = append(out, &notify.Email{Host: s.Host, Port: s.Port, TLS: s.TLS, User: s.User, Password: s.Password, From: s.From, To: s.To})
	}
	return out
}

// sendTestAlert is -test-alert: one test notification to every channel,
// each one's result printed; 1 if any failed or none is configured.
func sendTestAlert(ctx context.Context, channels []alert.Channel, stdout io.Writer) int {
	if len(channels) == 0 {
		fmt.Fprintln(stdout, "no alert channel configured (ALERT_WEBHOOK_URL, ALERT_SMTP_HOST)")
		return 1
	}
	code := 0
	results := alert.Test(ctx, channels, time.Now())
	for _, ch := range channels {
		if err := results[ch.Name()]; err != nil {
			fmt.Fprintf(stdout, "%s: FAILED: %v\n", ch.Name(), err)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: sent\n", ch.Name())
	}
	return code
}
