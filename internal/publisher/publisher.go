// Package publisher owns the publisher daemon's behaviour: turning samples
// into messages in the outbox, periodically and on /publish, and reporting
// what happened to them.
package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"golang.org/x/time/rate"

	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/server"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// Sampler takes a sample of the host.
type Sampler interface {
	Sample(ctx context.Context) (*snapshot.Snapshot, error)
}

// Service publishes snapshots.
type Service struct {
	cfg      Config
	sampler  Sampler
	outbox   *mq.Outbox
	status   *mq.Status
	log      *slog.Logger
	version  string
	instance string
	seq      atomic.Uint64
	limiter  *rate.Limiter
	started  time.Time

	rateLimited atomic.Uint64
	failures    atomic.Uint64
}

// New returns the service; it publishes through outbox.
func New(cfg Config, sampler Sampler, outbox *mq.Outbox, status *mq.Status, log *slog.Logger, version string) *Service {
	burst := max(1, int(cfg.RateLimit))
	return &Service{cfg: cfg, sampler: sampler, outbox: outbox, status: status, log: log, version: version,
		instance: uuid.NewString(), limiter: rate.NewLimiter(rate.Limit(cfg.RateLimit), burst), started: time.Now()}
}

// Published counts the snapshots queued since start.
func (s *Service) Published() uint64 { return s.seq.Load() }

// RateLimited counts the /publish calls refused with 429.
func (s *Service) RateLimited() uint64 { return s.rateLimited.Load() }

// Instance is this process's id, carried by every snapshot.
func (s *Service) Instance() string { return s.instance }

// Publish samples the host now and queues the snapshot for the broker.
func (s *Service) Publish(ctx context.Context) (*snapshot.Snapshot, *mq.Item, error) {
	snap, err := s.sampler.Sample(ctx)
	if err != nil {
		s.failures.Add(1)
		return nil, nil, fmt.Errorf("sample: %w", err)
	}
	return s.enqueue(snap)
}

func (s *Service) enqueue(snap *snapshot.Snapshot) (*snapshot.Snapshot, *mq.Item, error) {
	now := s.stamp(snap)
	body, err := snapshot.Encode(snap)
	if err != nil {
		return nil, nil, fmt.Errorf("encode snapshot: %w", err)
	}
	it := mq.NewItem(snap.Host, amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		MessageId:    snap.MessageID(),
		Timestamp:    now,
		AppId:        "sysmon-publisher",
		Type:         snapshot.MessageType,
		Body:         body,
	})
	s.outbox.Push(it)
	return snap, it, nil
}

// stamp fills in what the publisher adds to a sample, and returns its time.
func (s *Service) stamp(snap *snapshot.Snapshot) time.Time {
	now := time.Now()
	snap.Schema = snapshot.Schema
	snap.Host = s.cfg.HostName
	snap.InstanceID = s.instance
	snap.Seq = s.seq.Add(1)
	snap.Time = &now
	snap.IntervalSeconds = s.cfg.Interval.Seconds()
	snap.AgentVersion = s.version
	snap.Tags = s.cfg.Tags
	return now
}

// Run publishes every interval until ctx ends, then queues a goodbye
// message so that dashboards show the host offline at once. It calls beat
// at each publish, and at least every beatEvery when that is shorter than
// the interval (0: no such need, there is no watchdog). A second timer
// would wake the process at another instant than the publishing one: on an
// agent that sleeps between samples, wake-ups are much of its CPU time.
func (s *Service) Run(ctx context.Context, beat func(), beatEvery time.Duration) error {
	var tick, alive <-chan time.Time
	if s.cfg.Interval > 0 {
		t := time.NewTicker(s.cfg.Interval)
		defer t.Stop()
		tick = t.C
	}
	if beatEvery > 0 && (s.cfg.Interval == 0 || s.cfg.Interval > beatEvery) {
		t := time.NewTicker(beatEvery)
		defer t.Stop()
		alive = t.C
	}
	for {
		select {
		case <-ctx.Done():
			s.goodbye()
			return nil
		case <-alive:
			beat()
		case <-tick:
			beat()
			// Not cancelled by shutdown: a sample cut short would lack its
			// figures. Each source is bounded by COLLECT_TIMEOUT anyway.
			if _, _, err := s.Publish(context.WithoutCancel(ctx)); err != nil {
				s.log.Error("periodic publish failed", "err", err)
			}
		}
	}
}

func (s *Service) goodbye() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.CollectTimeout)
	defer cancel()
	snap, err := s.sampler.Sample(ctx)
	if err != nil {
		return
	}
	snap.Goodbye = true
	if _, _, err := s.enqueue(snap); err != nil {
		s.log.Warn("cannot queue the goodbye message", "err", err)
	}
}

// Handler serves the publisher's endpoints.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /publish", s.publish)
	mux.HandleFunc("POST /publish", s.publish)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		server.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { server.Ready(w, r, s.status) })
	mux.HandleFunc("GET /{$}", s.info)
	return mux
}

// response is the prototype's /publish answer shape.
type response struct {
	Status  string             `json:"status"`
	Message string             `json:"message"`
	Data    *snapshot.Snapshot `json:"data,omitempty"`
}

func (s *Service) publish(w http.ResponseWriter, r *http.Request) {
	if !s.limiter.Allow() {
		n := s.rateLimited.Add(1)
		if n == 1 {
			s.log.Warn("rate-limiting /publish (logged once; see GET / for the count)", "limit_per_second", s.cfg.RateLimit)
		}
		w.Header().Set("Retry-After", "1")
		server.JSON(w, http.StatusTooManyRequests, response{Status: "error",
			Message: fmt.Sprintf("too many requests: at most %g /publish per second", s.cfg.RateLimit)})
		return
	}
	snap, it, err := s.Publish(r.Context())
	if err != nil {
		server.JSON(w, http.StatusInternalServerError, response{Status: "error", Message: err.Error()})
		return
	}
	if !s.status.Connected() {
		server.JSON(w, http.StatusAccepted, response{Status: "queued", Data: snap,
			Message: fmt.Sprintf("broker unreachable: snapshot queued in the outbox (%d waiting), published when the broker returns",
				s.outbox.Len())})
		return
	}
	timer := time.NewTimer(s.cfg.PublishTimeout)
	defer timer.Stop()
	select {
	case err := <-it.Done():
		if errors.Is(err, mq.ErrDropped) {
			server.JSON(w, http.StatusServiceUnavailable, response{Status: "error", Data: snap,
				Message: "snapshot dropped: the outbox is full and the broker is not taking messages"})
			return
		}
		server.JSON(w, http.StatusOK, response{Status: "success", Message: "System information published", Data: snap})
	case <-timer.C:
		server.JSON(w, http.StatusAccepted, response{Status: "queued", Data: snap,
			Message: fmt.Sprintf("the broker has not confirmed within %v (%s): snapshot queued in the outbox (%d waiting)",
				s.cfg.PublishTimeout, s.status.State(), s.outbox.Len())})
	case <-r.Context().Done():
	}
}

func (s *Service) info(w http.ResponseWriter, r *http.Request) {
	server.JSON(w, http.StatusOK, map[string]any{
		"message":          "System Info Publisher Service", // the prototype's answer
		"service":          "sysmon-publisher",
		"version":          s.version,
		"host":             s.cfg.HostName,
		"instance_id":      s.instance,
		"uptime_seconds":   int(time.Since(s.started).Seconds()),
		"interval_seconds": s.cfg.Interval.Seconds(),
		"broker":           s.status.Get(),
		"snapshots": map[string]any{
			"published_total":    s.seq.Load(),
			"outbox":             s.outbox.Counters(),
			"rate_limited_total": s.rateLimited.Load(),
			"sample_failures":    s.failures.Load(),
		},
		"endpoints": []string{"GET|POST /publish", "GET /healthz", "GET /readyz"},
	})
}
