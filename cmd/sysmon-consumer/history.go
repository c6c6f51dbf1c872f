package main

import (
	"log/slog"
	"time"

	"github.com/sysmon-dev/sysmon/internal/consumer"
	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/history"
	"github.com/sysmon-dev/sysmon/internal/metrics"
)

// hist is the consumer's history: the store in STATE_DIR, or why there is
// none.
type hist struct {
	store    *history.Store
	recorder *consumer.Recorder
	why      string // no store: why not
	failed   bool   // it was configured but did not open
	log      *slog.Logger
}

// openHistory opens the store. A store that does not open (a damaged or
// newer store, a directory that cannot be written) is logged with the fix
// and the consumer runs without history: the live dashboard matters more,
// and exiting would only make systemd restart it into the same error.
func openHistory(cfg consumer.Config, log *slog.Logger) *hist {
	h := &hist{log: log}
	ret := cfg.History
	switch {
	case cfg.StateDir == "":
		h.why = "STATE_DIR is empty (set it, or run under the unit, to keep history across restarts)"
		log.Info("no history: " + h.why)
		return h
	case ret.Raw == 0 && ret.Minute == 0 && ret.Hour == 0:
		h.why = "HISTORY_RAW, HISTORY_MINUTE and HISTORY_HOUR are all 0"
		log.Info("no history: " + h.why)
		return h
	}
	store, err := history.Open(cfg.StateDir, ret, log)
	if err != nil {
		h.why, h.failed = "the store did not open: "+err.Error(), true
		log.Error("running WITHOUT history: the store in STATE_DIR did not open; the live dashboard works, charts start empty after each restart. "+
			"Fix the cause below (or move the directory aside to start a new store) and restart", "dir", cfg.StateDir, "err", err)
		return h
	}
	h.store = store
	return h
}

// recent is the fleet's source of its hosts' live charts (fleet.Config.Recent):
// the store, or nil without one (the fleet keeps them in memory).
func (h *hist) recent() func(host string, n int) []history.Sample {
	if h.store == nil {
		return nil
	}
	return h.store.Recent
}

// restore refills the fleet from the store as it was before the restart and
// starts recording its changes.
func (h *hist) restore(cfg consumer.Config, hosts *fleet.Fleet) {
	if h.store == nil {
		return
	}
	start := time.Now()
	restored, skipped := consumer.Restore(hosts, h.store.Latest(), cfg.MaxMessage, cfg.Fleet.Expire, h.log)
	h.log.Info("history kept in STATE_DIR; restored the fleet as it was", "dir", cfg.StateDir, "hosts", restored, "skipped", skipped,
		"took", time.Since(start).Round(time.Millisecond))
	ret := cfg.History
	h.recorder = consumer.NewRecorder(hosts, h.store, max(ret.Raw, ret.Minute, ret.Hour), h.log)
	// Take the restored hosts in their state and instance before the first
	// snapshot arrives, so that a new instance is a restart, not a first.
	h.recorder.Tick(time.Now())
}

// reader is what the web layer queries; nil without a store (an interface
// holding a nil *Store would not be nil).
func (h hist) reader() history.Reader {
	if h.store == nil {
		return nil
	}
	return h.store
}

func (h hist) stats() func() any {
	if h.store == nil {
		return nil
	}
	return func() any {
		return struct {
			history.Stats
			// Events dropped over consumer.MaxEventsPerMinute of a host.
			EventsSuppressed uint64 `json:"events_suppressed"`
		}{h.store.Stats(), h.recorder.Suppressed()}
	}
}

func (h hist) metrics(reg *metrics.Registry) {
	if h.store == nil {
		return
	}
	metrics.History(reg, func() metrics.HistoryFigures {
		s := h.store.Stats()
		return metrics.HistoryFigures{Bytes: s.Bytes, Written: s.Written, Dropped: s.Dropped, WriteErrors: s.WriteErrors, DiskFull: s.DiskFull}
	})
}

// forget deletes what the history keeps of a host forgotten at a user's
// request (a retired machine): its samples, events and latest snapshot,
// which would bring it back at the next start.
func (h hist) forget(host string) {
	if h.store != nil {
		h.store.Forget(host)
	}
}

// close writes what is left and closes the store.
func (h hist) close() {
	if h.store == nil {
		return
	}
	if err := h.store.Close(); err != nil {
		h.log.Error("closing the history store", "err", err)
	}
}
