// Package web owns the consumer's HTTP routes: the embedded dashboard, the
// JSON API, health endpoints and the WebSocket's route (the hub serves it).
package web

import (
	"embed"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/history"
	"github.com/sysmon-dev/sysmon/internal/hub"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/server"
)

//go:embed static
var static embed.FS

// csp forbids inline script and every origin but our own.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// Thresholds is one metric's warning and critical levels.
type Thresholds struct {
	Warn float64 `json:"warn"`
	Crit float64 `json:"crit"`
}

// Options configure the web surface.
type Options struct {
	Version    string
	Thresholds map[string]Thresholds
	// Limits say when a host is stale and offline (fleet.Config.Limits):
	// dashboards age hosts between updates with the same rule.
	Limits fleet.Config
	// Delay is how far behind the consumer is (sampling to receipt), for
	// /api/status: dashboards say so instead of showing the fleet stale.
	Delay func() time.Duration
	// Stats returns the consumer's message counters for /api/status.
	Stats func() any
	// Alerts serves /api/alerts and /api/silences; nil: no such routes.
	Alerts Alerts
	// History answers the history API; nil when the consumer keeps none,
	// NoHistory says why (STATE_DIR empty, the store did not open) and
	// HistoryFailed tells the second (503) from the first (404).
	History       history.Reader
	NoHistory     string
	HistoryFailed bool
	// HistoryStats is the store's state for /api/status.
	HistoryStats func() any
	// Forgotten, when set, is told of each host forgotten at a user's
	// request (the history deletes what it keeps of it, so that it does
	// not come back at the next start).
	Forgotten func(host string)
}

// Web serves the consumer's endpoints.
type Web struct {
	opts   Options
	fleet  *fleet.Fleet
	hub    *hub.Hub
	status *mq.Status
	log    *slog.Logger
	config []byte // the state frame's "config"
}

// New returns the consumer's web surface for the fleet f and its dashboards'
// hub.
func New(opts Options, f *fleet.Fleet, h *hub.Hub, status *mq.Status, log *slog.Logger) *Web {
	w := &Web{opts: opts, fleet: f, hub: h, status: status, log: log}
	w.config = w.configJSON()
	return w
}

// Handler routes every endpoint.
func (w *Web) Handler() http.Handler {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(static, "static")
	files := filesOnly(sub, http.FileServerFS(sub))
	mux.Handle("GET /", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Security-Policy", csp)
		rw.Header().Set("Referrer-Policy", "no-referrer")
		rw.Header().Set("X-Frame-Options", "DENY")
		files.ServeHTTP(rw, r)
	}))
	mux.HandleFunc("GET /ws", func(rw http.ResponseWriter, r *http.Request) { w.hub.ServeWS(rw, r, w.config) })
	mux.HandleFunc("GET /api/hosts", w.hosts)
	mux.HandleFunc("GET /api/hosts/{host}", w.host)
	// Forgetting a host is a write: the server's guards (auth, host name,
	// cross-site) apply to it as to every method but GET.
	mux.HandleFunc("DELETE /api/hosts", func(rw http.ResponseWriter, r *http.Request) {
		if !r.URL.Query().Has("host") {
			server.JSON(rw, http.StatusBadRequest, map[string]string{"error": "which host? DELETE /api/hosts?host=NAME"})
			return
		}
		w.forget(rw, r.URL.Query().Get("host"))
	})
	mux.HandleFunc("DELETE /api/hosts/{host}", func(rw http.ResponseWriter, r *http.Request) { w.forget(rw, r.PathValue("host")) })
	mux.HandleFunc("GET /api/hosts/{host}/history", w.historyPath)
	mux.HandleFunc("GET /api/history", w.historyQuery)
	mux.HandleFunc("GET /api/events", w.events)
	mux.HandleFunc("GET /api/sparklines", w.sparklines)
	mux.HandleFunc("GET /api/status", w.apiStatus)
	w.alertRoutes(mux)
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, r *http.Request) {
		server.JSON(rw, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, r *http.Request) { server.Ready(rw, r, w.status) })
	return mux
}

// Close ends every WebSocket with a "going away" close frame and waits for
// their goroutines.
func (w *Web) Close() { w.hub.Close() }

// hosts streams every host: the body is written entry by entry, never built
// whole (10,000 hosts of large snapshots would be hundreds of megabytes).
// With ?host=NAME it is /api/hosts/{host}: a query parameter reaches every
// name even through a proxy that decodes and cleans paths ("..", "a/b").
func (w *Web) hosts(rw http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); q.Has("host") {
		w.writeHost(rw, q.Get("host"))
		return
	}
	jsonHeaders(rw)
	rw.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(rw, `{"hosts":`); err != nil {
		return
	}
	if w.hub.WriteHosts(rw, time.Now()) != nil {
		return // the client went away; the status is sent already
	}
	_, _ = io.WriteString(rw, "}\n")
}

// host streams one host with its history. {host} is matched on the escaped
// path and unescaped, so every accepted name is reachable percent-encoded:
// "a/b" as a%2Fb, "." and ".." as %2E and %2E%2E (clients remove literal
// dot segments before sending).
func (w *Web) host(rw http.ResponseWriter, r *http.Request) {
	w.writeHost(rw, r.PathValue("host"))
}

func (w *Web) writeHost(rw http.ResponseWriter, name string) {
	out := &okWriter{rw: rw}
	found, err := w.hub.WriteHost(out, name, time.Now(), -1)
	switch {
	case !found:
		server.JSON(rw, http.StatusNotFound, map[string]string{"error": "unknown host"})
	case err == nil:
		_, _ = out.Write([]byte{'\n'})
	}
}

// forget removes a host (retired for good); dashboards drop its tile. A
// host that publishes again comes back.
func (w *Web) forget(rw http.ResponseWriter, name string) {
	if !w.fleet.Forget(name) {
		server.JSON(rw, http.StatusNotFound, map[string]string{"error": "unknown host"})
		return
	}
	if w.opts.Forgotten != nil {
		w.opts.Forgotten(name)
	}
	w.log.Info("host forgotten at a user's request", "host", name)
	rw.WriteHeader(http.StatusNoContent)
}

// okWriter answers 200 with JSON headers at its first write.
type okWriter struct {
	rw      http.ResponseWriter
	started bool
}

func (o *okWriter) Write(b []byte) (int, error) {
	if !o.started {
		o.started = true
		jsonHeaders(o.rw)
		o.rw.WriteHeader(http.StatusOK)
	}
	return o.rw.Write(b)
}

func (w *Web) apiStatus(rw http.ResponseWriter, r *http.Request) {
	counts := w.fleet.Counts(time.Now())
	counts.Clients = w.hub.Subscribers()
	out := map[string]any{
		"service":   "sysmon-consumer",
		"version":   w.opts.Version,
		"broker":    w.status.Get(),
		"fleet":     counts,
		"websocket": w.hub.Stats(),
	}
	if w.opts.Delay != nil {
		out["delay_seconds"] = w.opts.Delay().Seconds()
	}
	if w.opts.Stats != nil {
		out["messages"] = w.opts.Stats()
	}
	switch {
	case w.opts.HistoryStats != nil:
		out["history"] = w.opts.HistoryStats()
	case w.opts.NoHistory != "":
		out["history"] = map[string]any{"enabled": false, "reason": w.opts.NoHistory}
	}
	server.JSON(rw, http.StatusOK, out)
}

func jsonHeaders(rw http.ResponseWriter) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
}
