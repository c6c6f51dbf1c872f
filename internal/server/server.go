// Package server owns the daemons' HTTP listener: bound before readiness is
// signalled, with timeouts that cut slow or hostile clients, and a graceful
// shutdown bounded in time.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sysmon-dev/sysmon/internal/auth"
	"github.com/sysmon-dev/sysmon/internal/mq"
)

// MaxBody is the largest request body any endpoint accepts.
const MaxBody = 64 << 10

// Server is a bound HTTP server.
type Server struct {
	srv               *http.Server
	ln                net.Listener
	log               *slog.Logger
	certFile, keyFile string
}

// UseTLS makes Run serve HTTPS with the given PEM files.
func (s *Server) UseTLS(certFile, keyFile string) { s.certFile, s.keyFile = certFile, keyFile }

// Listen binds addr now, so that the caller can signal readiness.
func Listen(addr string, h http.Handler, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           limitBody(h),
		ReadHeaderTimeout: 5 * time.Second, // Slowloris
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second, // hijacked WebSockets are not affected
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return &Server{srv: srv, ln: ln, log: log}, nil
}

// Open binds the daemon's listener as hc says (address, HTTPS), refuses
// requests for host names it is not reachable under and cross-site browser
// requests that change state (see hostGuard), and puts credentials, when
// configured, in front of everything but the health checks. Opening it to
// the network without credentials is allowed, and warned about: what names
// what strangers could then reach.
func Open(hc Config, h http.Handler, log *slog.Logger, what string) (*Server, error) {
	public := []string{"/healthz", "/readyz"}
	s, err := Listen(hc.addr(), newHostGuard(hc, log, public...).wrap(auth.NewGuard(hc.Auth, public...).Wrap(h)), log)
	if err != nil {
		return nil, err
	}
	if hc.AnyHost {
		log.Warn("APP_ALLOWED_HOSTS=* accepts any host name: a web page can read "+what+" through DNS rebinding; list the names instead",
			"listen", s.Addr().String())
	}
	if hc.CertFile != "" {
		s.UseTLS(hc.CertFile, hc.KeyFile)
	}
	if !hc.loopback() && !hc.Auth.Enabled() {
		log.Warn(what+" is reachable from the network without authentication (set AUTH_BASIC or AUTH_BEARER_SHA256)",
			"listen", s.Addr().String())
	}
	return s, nil
}

// URL is the server's base URL.
func (s *Server) URL() string {
	if s.certFile != "" {
		return "https://" + s.Addr().String()
	}
	return "http://" + s.Addr().String()
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx ends, then shuts down within 5 seconds.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() {
		if s.certFile != "" {
			errc <- s.srv.ServeTLS(s.ln, s.certFile, s.keyFile)
			return
		}
		errc <- s.srv.Serve(s.ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		s.srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

// RegisterOnShutdown runs f when shutdown starts (to close hijacked connections).
func (s *Server) RegisterOnShutdown(f func()) { s.srv.RegisterOnShutdown(f) }

// limitBody refuses large bodies up front and caps the rest while read.
func limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBody {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// Ready answers /readyz: 200 when the broker connection is up, else 503,
// with the broker's state. Its address, user and last error are shown only
// to callers that may see them (auth.Restricted: credentials are configured
// and none came, or the host name is unknown).
func Ready(w http.ResponseWriter, r *http.Request, status *mq.Status) {
	code := http.StatusOK
	if !status.Connected() {
		code = http.StatusServiceUnavailable
	}
	v := status.Get()
	if auth.Restricted(r) {
		v.Broker, v.LastError = "", ""
	}
	JSON(w, code, map[string]any{"ready": code == http.StatusOK, "broker": v})
}

// JSON writes v with status code.
func JSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
