// Package sdnotify owns the daemons' conversation with systemd: readiness,
// status, stopping and a watchdog fed only while the main loops are alive.
// Outside systemd (no NOTIFY_SOCKET) every call is a silent no-op.
package sdnotify

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends sd_notify messages through go-systemd.
type Notifier struct {
	log        *slog.Logger
	mu         sync.Mutex
	lastStatus string
}

// New returns a Notifier; it needs nothing from the environment but NOTIFY_SOCKET.
func New(log *slog.Logger) *Notifier { return &Notifier{log: log} }

func (n *Notifier) send(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		n.log.Debug("sd_notify failed", "state", state, "err", err)
	}
}

// Ready tells systemd the service is up (its listener is bound).
func (n *Notifier) Ready() { n.send(daemon.SdNotifyReady) }

// Stopping tells systemd shutdown has begun.
func (n *Notifier) Stopping() { n.send(daemon.SdNotifyStopping) }

// Status sets the one-line status shown by `systemctl status`; repeats are skipped.
func (n *Notifier) Status(s string) {
	n.mu.Lock()
	same := s == n.lastStatus
	n.lastStatus = s
	n.mu.Unlock()
	if !same {
		n.send("STATUS=" + s)
	}
}

// Watchdog pings systemd at half of WATCHDOG_USEC, but only while every
// registered loop has beaten within the watchdog interval: a stuck loop
// stops the pings, and systemd restarts the service.
type Watchdog struct {
	n        *Notifier
	interval time.Duration
	mu       sync.Mutex
	beats    map[string]*atomic.Int64
	now      func() time.Time
}

// NewWatchdog reads WATCHDOG_USEC; with none set, Run returns at once when
// its context ends and beats cost one atomic store.
func NewWatchdog(n *Notifier) *Watchdog {
	iv, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		n.log.Warn("watchdog setting ignored", "err", err)
	}
	return &Watchdog{n: n, interval: iv, beats: map[string]*atomic.Int64{}, now: time.Now}
}

// Interval is the systemd watchdog interval, 0 when disabled.
func (w *Watchdog) Interval() time.Duration { return w.interval }

// Loop registers a loop by name and returns the function it calls each time
// round; loops must beat more often than the watchdog interval (they beat at
// least every second).
func (w *Watchdog) Loop(name string) (beat func()) {
	v := new(atomic.Int64)
	v.Store(w.now().UnixNano())
	w.mu.Lock()
	w.beats[name] = v
	w.mu.Unlock()
	return func() { v.Store(w.now().UnixNano()) }
}

// Stuck returns the name of a loop that has not beaten within limit, or "".
func (w *Watchdog) Stuck(limit time.Duration) string {
	now := w.now().UnixNano()
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, v := range w.beats {
		if time.Duration(now-v.Load()) > limit {
			return name
		}
	}
	return ""
}

// Run feeds the systemd watchdog until ctx ends.
func (w *Watchdog) Run(ctx context.Context) error {
	if w.interval <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(w.interval / 2)
	defer t.Stop()
	reported := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if stuck := w.Stuck(w.interval); stuck != "" {
			if stuck != reported {
				w.n.log.Error("main loop stuck; withholding watchdog pings so systemd restarts the service", "loop", stuck)
				reported = stuck
			}
			continue
		}
		reported = ""
		w.n.send(daemon.SdNotifyWatchdog)
	}
}
