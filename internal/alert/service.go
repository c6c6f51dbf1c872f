package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
)

// Channel delivers notifications somewhere (internal/notify has them).
type Channel interface {
	// Name names the channel in logs and metrics: "webhook", "email".
	Name() string
	// Send delivers n, or says why not; it must not log secrets.
	Send(ctx context.Context, n *Notification) error
}

// Pending is a notification waiting for delivery on one channel.
type Pending struct {
	N         *Notification `json:"notification"`
	Attempts  int           `json:"attempts"`
	Next      time.Time     `json:"next,omitzero"`
	LastError string        `json:"last_error,omitempty"`
}

// Options wire the service.
type Options struct {
	// Dir is STATE_DIR: the state is kept in Dir/alerts/state.json; ""
	// keeps nothing across restarts.
	Dir string
	// Every is how often the rules are checked.
	Every    time.Duration
	Channels []Channel
	// Hosts appends the fleet's entries at now to buf[:0] (fleet.Hosts: the
	// service keeps buf from one check to the next); Broker tells whether
	// the consumer's own broker connection is up, and since when it is in
	// that state (zero if unknown).
	Hosts  func(now time.Time, buf []fleet.Entry) []fleet.Entry
	Broker func() (up bool, since time.Time)
	// MaxPending bounds the notifications kept per channel while it fails;
	// beyond it the oldest are dropped (and counted).
	MaxPending int
	// RetryMax caps the delay between delivery attempts.
	RetryMax time.Duration
	Log      *slog.Logger
}

// Service checks the rules, logs each transition once and delivers the
// notifications, retrying each until its channel accepts it.
type Service struct {
	*Engine
	opts Options
	log  *slog.Logger

	saveMu  sync.Mutex
	mu      sync.Mutex
	pending map[string][]*Pending
	saveErr bool // the last save failed (logged once per run of failures)
	// pendingDirty: the pending lists changed since the last save.
	pendingDirty bool
	kick         map[string]chan struct{}

	sent, failed, dropped map[string]*atomic.Uint64

	entries []fleet.Entry // the last check's, reused by the next (Run's goroutine only)
}

// NewService returns the service with the state a previous run kept.
func NewService(cfg Config, opts Options) (*Service, error) {
	if opts.Every <= 0 {
		opts.Every = 5 * time.Second
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 1000
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = time.Minute
	}
	s := &Service{Engine: NewEngine(cfg), opts: opts, log: opts.Log, pending: map[string][]*Pending{},
		kick: map[string]chan struct{}{}, sent: map[string]*atomic.Uint64{}, failed: map[string]*atomic.Uint64{},
		dropped: map[string]*atomic.Uint64{}}
	for _, ch := range opts.Channels {
		s.kick[ch.Name()] = make(chan struct{}, 1)
		s.sent[ch.Name()], s.failed[ch.Name()], s.dropped[ch.Name()] = &atomic.Uint64{}, &atomic.Uint64{}, &atomic.Uint64{}
	}
	if opts.Dir != "" {
		p, err := load(opts.Dir)
		var bad *json.SyntaxError
		var badType *json.UnmarshalTypeError
		if errors.As(err, &bad) || errors.As(err, &badType) {
			// Refusing to start would stop the monitoring too: keep the
			// file for a look, start afresh, and say so loudly.
			aside := stateFile(opts.Dir) + ".corrupt"
			if rerr := os.Rename(stateFile(opts.Dir), aside); rerr != nil {
				return nil, fmt.Errorf("%w (and cannot move it aside: %v)", err, rerr)
			}
			s.log.Error("the alert state was unreadable: starting without it (firing alerts may fire again)", "err", err, "moved_to", aside)
			p, err = persisted{}, nil
		}
		if err != nil {
			return nil, err
		}
		s.Restore(p.Engine)
		for name, list := range p.Pending {
			if _, ok := s.kick[name]; ok {
				s.pending[name] = list
			} else if len(list) > 0 {
				// A channel no longer configured: nobody to deliver to.
				s.log.Warn("dropping notifications pending for a channel no longer configured", "channel", name, "count", len(list))
			}
		}
	}
	return s, nil
}

// Run checks the rules every Options.Every and delivers until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, ch := range s.opts.Channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.deliver(ctx, ch)
		}()
	}
	t := time.NewTicker(s.opts.Every)
	defer t.Stop()
	for {
		s.check(time.Now())
		select {
		case <-ctx.Done():
			wg.Wait()
			s.save()
			return nil
		case <-t.C:
		}
	}
}

// check runs the rules once, logs the transitions and queues the
// notification.
func (s *Service) check(now time.Time) {
	up, since := s.opts.Broker()
	s.entries = s.opts.Hosts(now, s.entries)
	res := s.Engine.check(now, s.entries, up, since)
	for _, ev := range res.Transitions {
		// journalctl -p warning shows each transition once.
		args := []any{"rule", ev.Rule, "host", ev.Host, "state", ev.State, "severity", ev.Severity, "since", ev.Since.UTC().Format(time.RFC3339)}
		if ev.Mount != "" {
			args = append(args, "mount", ev.Mount)
		}
		s.log.Warn("alert "+ev.State+": "+ev.Summary, args...)
	}
	if n := res.Notification; n != nil {
		if n.Group != "" {
			s.log.Warn("alert: " + n.Group)
		}
		s.enqueue(n)
	}
	s.save()
}

// enqueue queues n on every channel.
func (s *Service) enqueue(n *Notification) {
	s.mu.Lock()
	for name := range s.kick {
		list := append(s.pending[name], &Pending{N: n})
		if over := len(list) - s.opts.MaxPending; over > 0 {
			s.dropped[name].Add(uint64(over))
			s.log.Error("dropping the oldest undelivered notifications: the channel has failed too long", "channel", name, "dropped", over)
			list = append(list[:0], list[over:]...)
		}
		s.pending[name] = list
	}
	s.pendingDirty = true
	s.mu.Unlock()
	for _, k := range s.kick {
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

// Send queues a notification made outside the rules (none today but
// tests); the channels deliver it like any other.
func (s *Service) Send(n *Notification) { s.enqueue(n); s.save() }

// save writes the state when it changed; "" keeps nothing.
func (s *Service) save() {
	if s.opts.Dir == "" {
		return
	}
	// One save at a time, from taking the state to renaming the file: a
	// save of an older state never lands after a newer one.
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	force := s.pendingDirty
	s.mu.Unlock()
	st, dirty := s.state(force)
	if !dirty && !force {
		return // (pending lists changed since are saved by who changed them)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := persisted{Engine: st, Pending: s.pending}
	if err := save(s.opts.Dir, &p); err != nil {
		if !s.saveErr {
			s.log.Error("cannot keep the alert state: a restart would forget firing alerts and pending notifications", "err", err)
		}
		s.saveErr = true
		s.pendingDirty = true // retry at the next check
		return
	}
	if s.saveErr {
		s.log.Info("alert state kept again", "file", stateFile(s.opts.Dir))
	}
	s.saveErr, s.pendingDirty = false, false
}

// deliver sends the channel's notifications in order, retrying the oldest
// with capped exponential backoff until the channel takes it.
func (s *Service) deliver(ctx context.Context, ch Channel) {
	name := ch.Name()
	for {
		s.mu.Lock()
		var head *Pending
		if list := s.pending[name]; len(list) > 0 {
			head = list[0]
		}
		s.mu.Unlock()
		wait := time.Hour
		if head != nil {
			wait = time.Until(head.Next)
		}
		if head == nil || wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-s.kick[name]:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := ch.Send(sctx, head.N)
		cancel()
		if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return // shutting down: it stays pending
		}
		s.mu.Lock()
		if err == nil {
			list := s.pending[name]
			for i, p := range list {
				if p == head {
					s.pending[name] = append(list[:i:i], list[i+1:]...)
					break
				}
			}
			s.sent[name].Add(1)
			if head.Attempts > 0 {
				s.log.Info("notification delivered after retries", "channel", name, "id", head.N.ID, "attempts", head.Attempts+1)
			}
		} else {
			head.Attempts++
			head.LastError = err.Error()
			head.Next = time.Now().Add(backoff(head.Attempts, s.opts.RetryMax))
			s.failed[name].Add(1)
			if head.Attempts == 1 || head.Attempts%20 == 0 {
				s.log.Warn("notification not delivered, retrying", "channel", name, "id", head.N.ID, "attempts", head.Attempts,
					"retry_in", time.Until(head.Next).Round(time.Second).String(), "err", err)
			}
		}
		s.pendingDirty = true
		s.mu.Unlock()
		s.save()
	}
}

func backoff(attempts int, limit time.Duration) time.Duration {
	d := time.Second << min(attempts-1, 20)
	return min(d, limit)
}

// Stats are the delivery counters of one channel.
type Stats struct {
	Sent, Failed, Dropped uint64
	Pending               int
}

// ChannelStats returns each channel's counters.
func (s *Service) ChannelStats() map[string]Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Stats, len(s.kick))
	for name := range s.kick {
		out[name] = Stats{Sent: s.sent[name].Load(), Failed: s.failed[name].Load(), Dropped: s.dropped[name].Load(),
			Pending: len(s.pending[name])}
	}
	return out
}

// Test sends a test notification to every channel now, not through the
// queue: -test-alert reports each one's result.
func Test(ctx context.Context, channels []Channel, now time.Time) map[string]error {
	ev := Event{Key: Key{Rule: TestRule, Host: "sysmon-consumer"}, State: StateFiring, Severity: severity(TestRule), Since: now,
		Summary: "a test notification from sysmon-consumer -test-alert"}
	n := &Notification{ID: "test-" + newID(), Time: now, Alerts: []Event{ev}}
	out := map[string]error{}
	for _, ch := range channels {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out[ch.Name()] = ch.Send(sctx, n)
		cancel()
	}
	return out
}
