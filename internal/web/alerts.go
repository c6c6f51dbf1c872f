package web

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sysmon-dev/sysmon/internal/alert"
	"github.com/sysmon-dev/sysmon/internal/server"
)

// Alerts is what the alert routes need of the alerting.
type Alerts interface {
	View(now time.Time) alert.View
	AddSilence(s alert.Silence, now time.Time) (alert.Silence, error)
	DeleteSilence(id string) bool
}

// alertRoutes adds GET /api/alerts and the silences' writes. The writes go
// through the same guard as every request (server.Open: credentials when
// configured, host names, and no cross-site browser request that changes
// state), and take JSON only, which no HTML form can send.
func (w *Web) alertRoutes(mux *http.ServeMux) {
	if w.opts.Alerts == nil {
		return
	}
	a := w.opts.Alerts
	mux.HandleFunc("GET /api/alerts", func(rw http.ResponseWriter, r *http.Request) {
		server.JSON(rw, http.StatusOK, a.View(time.Now()))
	})
	mux.HandleFunc("POST /api/silences", func(rw http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			server.JSON(rw, http.StatusUnsupportedMediaType, map[string]string{"error": "expected Content-Type: application/json"})
			return
		}
		var req struct {
			Host     string    `json:"host"`
			Rule     string    `json:"rule"`
			Duration string    `json:"duration"` // "2h"; or until
			Until    time.Time `json:"until"`
			Comment  string    `json:"comment"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || dec.Decode(&struct{}{}) != io.EOF {
			msg := "expected one JSON object {\"host\",\"rule\",\"duration\"|\"until\",\"comment\"}"
			if err != nil {
				msg += ": " + err.Error()
			}
			server.JSON(rw, http.StatusBadRequest, map[string]string{"error": msg})
			return
		}
		now := time.Now()
		until := req.Until
		if req.Duration != "" {
			d, err := time.ParseDuration(req.Duration)
			if err != nil || d <= 0 || d > 366*24*time.Hour {
				server.JSON(rw, http.StatusBadRequest, map[string]string{"error": "duration: expected a positive Go duration up to a year (\"2h\", \"30m\")"})
				return
			}
			until = now.Add(d)
		}
		s, err := a.AddSilence(alert.Silence{Host: req.Host, Rule: req.Rule, Until: until, Comment: req.Comment}, now)
		if err != nil {
			server.JSON(rw, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		w.log.Info("silence added", "id", s.ID, "host", s.Host, "rule", s.Rule, "until", s.Until.UTC().Format(time.RFC3339))
		server.JSON(rw, http.StatusCreated, s)
	})
	mux.HandleFunc("DELETE /api/silences/{id}", func(rw http.ResponseWriter, r *http.Request) {
		if !a.DeleteSilence(r.PathValue("id")) {
			server.JSON(rw, http.StatusNotFound, map[string]string{"error": "no such silence"})
			return
		}
		w.log.Info("silence deleted", "id", r.PathValue("id"))
		rw.WriteHeader(http.StatusNoContent)
	})
}
