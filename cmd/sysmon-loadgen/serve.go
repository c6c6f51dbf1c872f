package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/sysmon-dev/sysmon/internal/alert"
	"github.com/sysmon-dev/sysmon/internal/consumer"
	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/hub"
	"github.com/sysmon-dev/sysmon/internal/logging"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
	"github.com/sysmon-dev/sysmon/internal/web"
)

// runServe serves the consumer's dashboard of a simulated fleet: the
// consumer's own fleet, hub, alerts and web, the snapshots handed to the
// fleet in the same process instead of through a broker.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) (any, error) {
	o := publishOpts{cmd: "serve", conns: 1}
	fs := newFlags("serve", `Serves sysmon-consumer's dashboard (the same page, WebSocket stream and API)
of -hosts simulated hosts, each taking a snapshot every -interval (as publish
sends them), without a broker: the snapshots go straight to the consumer's
fleet in this process. What a browser costs with a big fleet, on a machine
that does nothing else: on a 2-core machine the broker, the consumer and a
load generator of 10,000 hosts a second take most of both cores themselves.
The consumer's settings (thresholds, stale and offline limits, WS_TICK) are
read from -config or the environment as sysmon-consumer reads them; there is
no broker, no history and no notification.`, stderr)
	listen := fs.String("listen", "127.0.0.1:8004", "`address` to serve the dashboard on")
	file := fs.String("config", "", "consumer env `file` with the settings (default: the environment only)")
	fleetFlags(fs, &o)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if err := checkFleet(o, stderr); err != nil {
		return nil, err
	}
	cfg, _, err := consumer.LoadConfig(*file, *file != "", os.LookupEnv)
	if err != nil {
		return nil, err
	}
	// Room for every simulated host, whatever MAX_HOSTS says.
	cfg.Fleet.MaxHosts = max(cfg.Fleet.MaxHosts, o.hosts)
	log := logging.New(stderr, cfg.LogLevel, false)

	hosts := fleet.New(cfg.Fleet)
	dashboards := hub.New(hosts, hub.Options{Tick: cfg.Tick, SendBuffer: cfg.SendBuffer}, log.With("component", "hub"))
	thresholds := make(map[string]web.Thresholds, len(cfg.Thresholds))
	for k, t := range cfg.Thresholds {
		thresholds[k] = web.Thresholds(t)
	}
	// The simulation stands in for the broker: up while it runs.
	started := time.Now()
	alerts, err := alert.NewService(cfg.Rules(), alert.Options{Every: cfg.Alerts.Check, Hosts: hosts.Hosts,
		Broker: func() (bool, time.Time) { return true, started }, Log: log.With("component", "alert")})
	if err != nil {
		return nil, err
	}
	// What it filed is the fleet's accepted_total in /api/status.
	site := web.New(web.Options{Version: "loadgen", Thresholds: thresholds, Limits: cfg.Fleet,
		Delay:  func() time.Duration { return 0 }, // sampled and filed in the same instant
		Alerts: alerts, NoHistory: "a simulated fleet (sysmon-loadgen serve) keeps no history"},
		hosts, dashboards, mq.NewStatus(), log.With("component", "web"))

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: site.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "sysmon-loadgen serve: the dashboard of %d simulated hosts at http://%s/\n", o.hosts, ln.Addr())

	// The alerts and the hub run until ctx ends; the simulation until
	// -duration, -count or ctx, or until the server fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go alerts.Run(ctx)
	go dashboards.Run(ctx)
	failed := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- err
			cancel()
		}
	}()
	sum, err := publish(ctx, o, stderr, func(ctx context.Context, sims []*simHost, st *pubStats, budget *atomic.Int64) error {
		return pace(ctx, o, sims, st, budget, func(s *snapshot.Snapshot, body []byte, now time.Time) error {
			hosts.Apply(s, body, s.Host, now)
			return nil
		})
	})
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	site.Close()
	select {
	case serr := <-failed:
		err = errors.Join(err, fmt.Errorf("serve the dashboard: %w", serr))
	default:
	}
	return sum, err
}
