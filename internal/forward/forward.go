// Package forward owns a shard consumer's share of the fleet view: it sends
// each host's latest snapshot, at most once every FORWARD_EVERY, to a fanout
// exchange that an ordinary consumer (the merged view) reads. What it sends
// is the snapshot as the host published it, under the host's name as routing
// key, persistent and confirmed by the broker (mq.Publisher, with Window
// snapshots waiting for their confirm at once): to the merged consumer a
// forwarded snapshot is one more snapshot of that host.
package forward

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// Slots is how many parts of FORWARD_EVERY the hosts are spread over: each
// host is due in its own slot, so the forwarder sends a tenth of the fleet
// every FORWARD_EVERY/10 rather than all of it at once.
const Slots = 10

// Options are what a Forwarder needs.
type Options struct {
	Exchange string        // fanout exchange of the merged view
	Every    time.Duration // at most one snapshot per host this often
	// States returns the fleet's hosts in buf (fleet.Fleet.States: a copy
	// of a few fields per host under the fleet's lock, nothing sorted or
	// encoded).
	States func(now time.Time, buf []fleet.HostState) []fleet.HostState
	// Dialer connects the forwarder's own connection (its status is not
	// the consumer's: a merge that cannot publish does not stop ingest).
	Dialer *mq.Dialer
	// Backlog bounds the snapshots waiting for the broker; a slot that
	// finds it full is skipped (its hosts go at their next slot) and counted.
	Backlog int
	// Window is how many snapshots may wait for the broker's confirm at
	// once (a persistent message is confirmed once on disk, tens of ms on
	// a busy broker); 0: DefaultWindow.
	Window int
	Log    *slog.Logger
}

// Forwarder sends the fleet's latest snapshots on; Run it.
type Forwarder struct {
	o      Options
	outbox *mq.Outbox
	pub    *mq.Publisher
	// sent is each host's LastSeen when its snapshot was last forwarded;
	// owned by Run's goroutine.
	sent map[string]time.Time
	buf  []fleet.HostState // reused by each scan

	forwarded, skipped atomic.Uint64
}

// DefaultBacklog is the backlog when Options.Backlog is 0: about 14 MiB of
// typical snapshots.
const DefaultBacklog = 10_000

// DefaultWindow is the window when Options.Window is 0: at 140 ms a confirm
// (a busy broker), 500 in flight carry 3,500 snapshots/s, about 700 KiB
// unconfirmed.
const DefaultWindow = 500

// New returns a Forwarder; o.Every must be positive.
func New(o Options) *Forwarder {
	if o.Backlog <= 0 {
		o.Backlog = DefaultBacklog
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	ob := mq.NewOutbox(o.Backlog)
	return &Forwarder{o: o, outbox: ob, sent: map[string]time.Time{},
		pub: &mq.Publisher{Dialer: o.Dialer, Exchange: o.Exchange, ExchangeType: "fanout", Outbox: ob,
			Log: o.Log, DrainTimeout: time.Second, NoUserID: true, Window: o.Window}}
}

// Run forwards until ctx ends.
func (f *Forwarder) Run(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- f.pub.Run(ctx) }()
	f.o.Log.Info("forwarding each host's latest snapshot", "exchange", f.o.Exchange, "every", f.o.Every)
	tick := time.NewTicker(max(f.o.Every/Slots, time.Millisecond))
	defer tick.Stop()
	for slot := 0; ; slot = (slot + 1) % Slots {
		select {
		case <-ctx.Done():
			return <-done
		case err := <-done:
			return err
		case <-tick.C:
			f.forward(slot)
		}
	}
}

// forward queues the hosts due in slot whose snapshot is newer than the
// one they last forwarded.
func (f *Forwarder) forward(slot int) {
	hosts := f.o.States(time.Now(), f.buf)
	defer func() {
		clear(hosts) // the snapshots are not kept past the scan
		f.buf = hosts
	}()
	if len(f.sent) > len(hosts) {
		// Hosts expired or forgotten: forget them here too.
		live := make(map[string]bool, len(hosts))
		for _, e := range hosts {
			live[e.Name] = true
		}
		for h := range f.sent {
			if !live[h] {
				delete(f.sent, h)
			}
		}
	}
	for _, e := range hosts {
		if SlotOf(e.Name) != slot || !e.LastSeen.After(f.sent[e.Name]) {
			continue
		}
		if f.outbox.Len() >= f.o.Backlog {
			f.skipped.Add(1)
			continue
		}
		f.sent[e.Name] = e.LastSeen
		f.outbox.Push(mq.NewItem(e.Name, amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent,
			AppId: "sysmon-consumer", Type: snapshot.MessageType, Body: e.Snapshot.Plain()}))
		f.forwarded.Add(1)
	}
}

// SlotOf is the slot a host is forwarded in: fixed per name, even over hosts.
func SlotOf(host string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(host))
	return int(h.Sum32() % Slots)
}

// Stats are the forwarder's counters.
type Stats struct {
	Queued    uint64 // snapshots handed to the publisher
	Confirmed uint64 // of those, confirmed by the broker
	Dropped   uint64 // pushed out of a full backlog (not sent)
	Skipped   uint64 // hosts not queued because the backlog was full
	Waiting   int    // in the backlog now
}

// Stats returns the counters.
func (f *Forwarder) Stats() Stats {
	c := f.outbox.Counters()
	return Stats{Queued: f.forwarded.Load(), Confirmed: c.Confirmed, Dropped: c.Dropped, Skipped: f.skipped.Load(), Waiting: c.Waiting}
}
