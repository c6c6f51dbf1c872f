package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sysmon-dev/sysmon/internal/config"
	"github.com/sysmon-dev/sysmon/internal/history"
	"github.com/sysmon-dev/sysmon/internal/server"
)

// Limits of the history API's parameters.
const (
	defaultRange  = time.Hour
	maxRange      = 20 * 366 * 24 * time.Hour // the longest HISTORY_HOUR
	defaultEvents = 200
	maxEvents     = 10_000
	queryTimeout  = 30 * time.Second
)

// historyPath answers GET /api/hosts/{host}/history.
func (w *Web) historyPath(rw http.ResponseWriter, r *http.Request) {
	w.writeHistory(rw, r, r.PathValue("host"))
}

// historyQuery answers GET /api/history?host=NAME: the same, for names a
// proxy would mangle in a path.
func (w *Web) historyQuery(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("host") {
		server.JSON(rw, http.StatusBadRequest, map[string]string{"error": "host: missing (GET /api/history?host=NAME&from=…&to=…)"})
		return
	}
	w.writeHistory(rw, r, q.Get("host"))
}

// noHistory answers when the consumer keeps no history, and says why.
func (w *Web) noHistory(rw http.ResponseWriter) bool {
	if w.opts.History != nil {
		return false
	}
	code := http.StatusNotFound // not configured
	if w.opts.HistoryFailed {
		code = http.StatusServiceUnavailable
	}
	server.JSON(rw, code, map[string]string{"error": "no history: " + w.opts.NoHistory})
	return true
}

func (w *Web) writeHistory(rw http.ResponseWriter, r *http.Request, host string) {
	if w.noHistory(rw) {
		return
	}
	q := r.URL.Query()
	from, to, err := timeRange(q, time.Now())
	var step time.Duration
	if err == nil && q.Get("step") != "" {
		step, err = config.ParseDuration(q.Get("step"))
		if err != nil || step > maxRange {
			err = fmt.Errorf("step: expected a duration such as 60, 5m or 1h, got %q", truncate(q.Get("step"), 40))
		}
	}
	if err != nil {
		server.JSON(rw, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	s, err := w.opts.History.Query(ctx, host, from, to, step)
	if err != nil {
		w.queryFailed(rw, r, err)
		return
	}
	if len(s.T) == 0 {
		if _, _, known := w.fleet.Host(host, time.Now(), 0); !known {
			server.JSON(rw, http.StatusNotFound, map[string]string{"error": "unknown host: no history and not in the fleet"})
			return
		}
	}
	server.JSON(rw, http.StatusOK, s)
}

// maxSparklines is the most hosts one GET /api/sparklines asks for (the
// dashboard asks for the tiles on screen, in batches).
const maxSparklines = 100

// sparkStep is a sparkline's step: 120 points in the hour.
const sparkStep = 30 * time.Second

// sparkline is one host's CPU over the last hour, as a tile draws it.
type sparkline struct {
	T   []int64        `json:"t"`
	CPU history.Values `json:"cpu"`
}

// sparklines answers GET /api/sparklines?host=A&host=B…: each host's CPU
// over the last hour at one point every 30 s, for the overview's tiles.
func (w *Web) sparklines(rw http.ResponseWriter, r *http.Request) {
	if w.noHistory(rw) {
		return
	}
	names := r.URL.Query()["host"]
	if len(names) == 0 || len(names) > maxSparklines {
		server.JSON(rw, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("host: expected 1 to %d host=NAME parameters, got %d", maxSparklines, len(names))})
		return
	}
	to := time.Now()
	from := to.Add(-time.Hour)
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	out := make(map[string]sparkline, len(names))
	for _, n := range names {
		// 30 s: fine enough for a tile, and under a minute so that the
		// raw tier answers, with the minute not yet aggregated.
		s, err := w.opts.History.Query(ctx, n, from, to, sparkStep)
		if err != nil {
			w.queryFailed(rw, r, err)
			return
		}
		sp := sparkline{T: s.T, CPU: history.Values{}}
		if b := s.Figures["cpu"]; b != nil {
			sp.CPU = b.Mean
		}
		out[n] = sp
	}
	server.JSON(rw, http.StatusOK, map[string]any{"from": from, "to": to, "hosts": out})
}

// events answers GET /api/events?host=&from=&to=&limit=: the events of one
// host, or of the whole fleet without host, newest first.
func (w *Web) events(rw http.ResponseWriter, r *http.Request) {
	if w.noHistory(rw) {
		return
	}
	q := r.URL.Query()
	now := time.Now()
	from, to, err := timeRange(q, now)
	if err == nil && q.Get("from") == "" {
		from = to.Add(-7 * 24 * time.Hour) // events are few: a week by default
	}
	limit := defaultEvents
	if err == nil && q.Get("limit") != "" {
		limit, err = strconv.Atoi(q.Get("limit"))
		if err != nil || limit < 1 || limit > maxEvents {
			err = fmt.Errorf("limit: expected a whole number from 1 to %d, got %q", maxEvents, truncate(q.Get("limit"), 40))
		}
	}
	if err != nil {
		server.JSON(rw, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	evs, err := w.opts.History.Events(ctx, q.Get("host"), from, to, limit)
	if err != nil {
		w.queryFailed(rw, r, err)
		return
	}
	if evs == nil {
		evs = []history.Event{}
	}
	server.JSON(rw, http.StatusOK, map[string]any{"from": from, "to": to, "events": evs})
}

func (w *Web) queryFailed(rw http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	code := http.StatusInternalServerError
	if errors.Is(err, context.DeadlineExceeded) {
		code = http.StatusServiceUnavailable
	}
	w.log.Warn("history query failed", "path", truncate(r.URL.Path, 200), "err", err)
	server.JSON(rw, code, map[string]string{"error": "history: " + err.Error()})
}

// timeRange reads from and to (RFC 3339 or unix seconds): by default the
// hour up to now.
func timeRange(q url.Values, now time.Time) (from, to time.Time, err error) {
	to, from = now, time.Time{}
	if v := q.Get("to"); v != "" {
		if to, err = parseTime("to", v); err != nil {
			return
		}
	}
	from = to.Add(-defaultRange)
	if v := q.Get("from"); v != "" {
		if from, err = parseTime("from", v); err != nil {
			return
		}
	}
	switch {
	case !from.Before(to):
		err = fmt.Errorf("from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	case to.Sub(from) > maxRange:
		err = fmt.Errorf("from to to spans %v: at most 20 years", to.Sub(from).Round(time.Hour))
	}
	return
}

// parseTime reads RFC 3339 (2026-11-29T03:00:00Z) or unix seconds
// (1795920000, 1795920000.5).
func parseTime(key, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "xXpPnN_iI") && f >= 0 && f < 1<<40 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("%s: expected RFC 3339 (2026-11-29T03:00:00Z) or unix seconds, got %q", key, truncate(v, 40))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
