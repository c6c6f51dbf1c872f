// Package consumer owns the consumer daemon's behaviour: turning deliveries
// into fleet updates, and counting what it had to drop.
package consumer

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"golang.org/x/time/rate"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// Ingest validates deliveries and files them into the fleet. A message it
// cannot use is dropped (the caller acks it, so it is not redelivered
// forever), counted, and logged at most once a minute.
type Ingest struct {
	fleet    *fleet.Fleet
	maxBytes int
	log      *slog.Logger
	logEvery rate.Sometimes

	received, invalid, tooLarge, duplicates, refused atomic.Uint64
	// Identity, when set before use, says who may speak for a host;
	// snapshots from anyone else are dropped and counted.
	Identity        Identity
	unauthenticated atomic.Uint64
	refusedHosts    hostLog
	// OnDelay, when set before use, receives each snapshot's time from
	// sampling (the publisher's clock) to receipt.
	OnDelay func(time.Duration)
	lag     lag
	// History, when set before use, records every accepted snapshot.
	History *Recorder
}

// NewIngest returns an Ingest filing into f.
func NewIngest(f *fleet.Fleet, maxBytes int, log *slog.Logger) *Ingest {
	return &Ingest{fleet: f, maxBytes: maxBytes, log: log, logEvery: rate.Sometimes{First: 1, Interval: time.Minute}}
}

// Handle takes one delivery.
func (in *Ingest) Handle(d *amqp.Delivery) {
	in.received.Add(1)
	now := time.Now()
	s, err := snapshot.Decode(d.Body, in.maxBytes)
	if err == nil && s.Host == "" && d.RoutingKey != "" {
		// A prototype message is filed under its routing key, which then
		// reaches the dashboard and /metrics/fleet labels: it must be a
		// host name like any other (an AMQP routing key is any 255 bytes).
		if herr := snapshot.CheckHost(d.RoutingKey); herr != nil {
			err = fmt.Errorf("routing key used as host name: %w", herr)
		}
	}
	if err != nil {
		if errors.Is(err, snapshot.ErrTooLarge) {
			in.tooLarge.Add(1)
		} else {
			in.invalid.Add(1)
		}
		in.logEvery.Do(func() {
			in.log.Warn("dropped a message that is not a valid snapshot (logged at most once a minute; see /api/status for counts)",
				"err", truncate(err.Error(), 200), "routing_key", truncate(d.RoutingKey, 64),
				"app_id", truncate(d.AppId, 64), "bytes", len(d.Body),
				"invalid_total", in.invalid.Load(), "too_large_total", in.tooLarge.Load())
		})
		return
	}
	if !in.authentic(s, d) {
		return
	}
	// The AMQP timestamp has whole seconds only: the snapshot's own time
	// is precise.
	if s.Time != nil {
		in.lag.add(now.Sub(*s.Time), now)
		if in.OnDelay != nil {
			in.OnDelay(now.Sub(*s.Time))
		}
	}
	switch in.fleet.Apply(s, d.Body, d.RoutingKey, now) {
	case fleet.Accepted:
		if in.History != nil {
			in.History.Accepted(s, d.Body, d.RoutingKey, now)
		}
	case fleet.Duplicate:
		in.duplicates.Add(1)
	case fleet.Refused:
		if in.refused.Add(1) == 1 {
			in.log.Warn("refusing new hosts: MAX_HOSTS reached (logged once)", "host", truncate(s.Host, 64))
		}
	}
}

// Stats are the ingest counters for /api/status.
type Stats struct {
	Received   uint64 `json:"received_total"`
	Invalid    uint64 `json:"invalid_total"`
	TooLarge   uint64 `json:"too_large_total"`
	Duplicates uint64 `json:"duplicates_total"`
	Refused    uint64 `json:"refused_total"`
	// Unauthenticated counts snapshots refused by HOST_IDENTITY.
	Unauthenticated uint64 `json:"unauthenticated_total"`
}

// Stats returns the counters.
func (in *Ingest) Stats() Stats {
	return Stats{Received: in.received.Load(), Invalid: in.invalid.Load(), TooLarge: in.tooLarge.Load(),
		Duplicates: in.duplicates.Load(), Refused: in.refused.Load(), Unauthenticated: in.unauthenticated.Load()}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
