package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"github.com/sysmon-dev/sysmon/internal/auth"
)

// hostGuard refuses requests for a Host the daemon is not reachable under,
// which is what DNS rebinding needs: a page of evil.example whose name is
// made to resolve to 127.0.0.1 reads the daemon as evil.example, same-origin
// for the browser, but its Host header says evil.example. It also refuses
// cross-site browser requests that change state (see crossSite).
//
// Accepted names: localhost and *.localhost (browsers resolve them to
// loopback themselves), any IP address (a page can only be served under an
// IP address by that address, so it cannot be rebound), the listen address's
// name, the system's host name, and APP_ALLOWED_HOSTS.
type hostGuard struct {
	any      bool
	names    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
	public   map[string]bool
	log      *slog.Logger
	warned   atomic.Bool
}

func newHostGuard(hc Config, log *slog.Logger, public ...string) *hostGuard {
	g := &hostGuard{any: hc.AnyHost, names: map[string]bool{"localhost": true}, public: map[string]bool{}, log: log}
	for _, n := range hc.AllowedHosts {
		if s, ok := strings.CutPrefix(n, "*"); ok {
			g.suffixes = append(g.suffixes, s)
			continue
		}
		g.names[n] = true
	}
	if hc.Host != "" && net.ParseIP(hc.Host) == nil {
		g.names[normalHost(hc.Host)] = true
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		g.names[normalHost(name)] = true
	}
	for _, p := range public {
		g.public[p] = true
	}
	return g
}

// normalHost is the name part of a Host header, as compared: no port, no
// IPv6 brackets, lower case, no final dot.
func normalHost(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
}

// allowedHost tells whether the daemon answers to the Host header hostport.
// An empty one (HTTP/1.0 without Host) comes from no browser: allowed.
func (g *hostGuard) allowedHost(hostport string) bool {
	if g.any || hostport == "" {
		return true
	}
	h := normalHost(hostport)
	if net.ParseIP(h) != nil || g.names[h] || strings.HasSuffix(h, ".localhost") {
		return true
	}
	for _, s := range g.suffixes {
		if strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}

func (g *hostGuard) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.allowedHost(r.Host) {
			if g.public[r.URL.Path] {
				// Health checks keep working under any name (load
				// balancers use their own), without detail.
				h.ServeHTTP(w, auth.Restrict(r))
				return
			}
			if g.warned.CompareAndSwap(false, true) {
				// A client that uses a real name of this server (a
				// Prometheus target by its FQDN) shows up here once.
				g.log.Warn("refused a request for a host name this server does not answer to (logged once): "+
					"if it is one of this server's names, add it to APP_ALLOWED_HOSTS", "host", r.Host, "path", r.URL.Path)
			} else {
				g.log.Debug("refused a request for an unknown host name", "host", r.Host, "path", r.URL.Path)
			}
			http.Error(w, fmt.Sprintf("misdirected request: this server does not answer to the host name %q "+
				"(a DNS rebinding attempt, or a name missing from APP_ALLOWED_HOSTS)", r.Host), http.StatusMisdirectedRequest)
			return
		}
		if changesState(r) && crossSite(r) {
			refuseCrossSite(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// changesState tells whether r may change state or open a channel that the
// browser's same-origin policy does not guard: every method but GET, HEAD
// and OPTIONS, and WebSocket handshakes.
func changesState(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return strings.Contains(strings.ToLower(r.Header.Get("Upgrade")), "websocket")
	}
	return true
}

// crossSite tells whether a browser sent r from a page of another origin.
// Browsers say so in Sec-Fetch-Site; older ones send Origin, which is then
// compared with Host. A request with neither (curl, scripts, Prometheus) is
// not a browser's cross-site request.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
	default: // same-site (another port of this host too), cross-site
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || !strings.EqualFold(u.Host, r.Host) // "null" has no host
}

// SameOrigin tells whether r is not a cross-site browser request (see
// crossSite): the WebSocket upgrader's CheckOrigin, so that it applies the
// same rule as the server.
func SameOrigin(r *http.Request) bool { return !crossSite(r) }

// SameOriginOnly refuses every cross-site browser request to h, whatever
// its method: for endpoints that change state on GET, such as the
// publisher's GET /publish, which a page could otherwise trigger with an
// image.
func SameOriginOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if crossSite(r) {
			refuseCrossSite(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func refuseCrossSite(w http.ResponseWriter, r *http.Request) {
	from := r.Header.Get("Origin")
	if from == "" {
		from = "Sec-Fetch-Site: " + r.Header.Get("Sec-Fetch-Site")
	}
	http.Error(w, fmt.Sprintf("cross-site request refused: %s %s came from a page of another site (%s); "+
		"use this server's own pages, or a client that is not a browser", r.Method, r.URL.Path, from), http.StatusForbidden)
}
