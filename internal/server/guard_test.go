package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"golang.org/x/crypto/bcrypt"

	"github.com/sysmon-dev/sysmon/internal/auth"
	"github.com/sysmon-dev/sysmon/internal/brokertest"
	"github.com/sysmon-dev/sysmon/internal/config"
	"github.com/sysmon-dev/sysmon/internal/mq"
)

// served is a real listener from Open: what the daemons run.
type served struct {
	t    *testing.T
	url  string
	port string
	hits int // requests that reached the handler
}

func serve(t *testing.T, hc Config, h http.Handler) *served {
	t.Helper()
	return serveLog(t, hc, h, slog.New(slog.DiscardHandler))
}

func serveLog(t *testing.T, hc Config, h http.Handler, log *slog.Logger) *served {
	t.Helper()
	hc.Host, hc.Port = "127.0.0.1", 0
	s := &served{t: t}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits++
		h.ServeHTTP(w, r)
	})
	srv, err := Open(hc, counted, log, "the test server")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	s.url = srv.URL()
	s.port = s.url[strings.LastIndex(s.url, ":")+1:]
	return s
}

// do sends method path with the Host header host ("" leaves the real one)
// and headers as "Key: value" strings.
func (s *served) do(method, path, host string, headers ...string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func ok() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
}

// TestRebindingHostIsRefused: a request for a name the daemon is not
// reachable under (what DNS rebinding produces) is refused with 421 before
// any handler; loopback names and IP addresses are accepted on any port.
func TestRebindingHostIsRefused(t *testing.T) {
	s := serve(t, Config{}, ok())
	for _, host := range []string{"evil.example:" + s.port, "evil.example", "localhost.evil.example", "127.0.0.1.nip.io:" + s.port} {
		code, body := s.do("GET", "/api/hosts", host)
		if code != http.StatusMisdirectedRequest || !strings.Contains(body, "APP_ALLOWED_HOSTS") || !strings.Contains(body, host) {
			t.Errorf("Host %s: %d %q, want 421 naming the host and APP_ALLOWED_HOSTS", host, code, body)
		}
	}
	if s.hits != 0 {
		t.Fatalf("%d refused requests reached the handler", s.hits)
	}
	for _, host := range []string{"", "localhost:" + s.port, "LOCALHOST.:8003", "localhost", "127.0.0.1:" + s.port,
		"[::1]:" + s.port, "[::1]", "dash.localhost:9", "192.0.2.7", "[2001:db8::1]:80"} {
		if code, body := s.do("GET", "/api/hosts", host); code != http.StatusOK {
			t.Errorf("Host %q: %d %q, want 200", host, code, body)
		}
	}
}

// TestFirstRefusedHostIsWarned: an operator whose clients use a name the
// server does not know learns it from one warning, not a flood.
func TestFirstRefusedHostIsWarned(t *testing.T) {
	var logs lockedBuf
	s := serveLog(t, Config{}, ok(), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	for i := 0; i < 3; i++ {
		s.do("GET", "/metrics", "mon-1.corp.example:8003")
	}
	if n := strings.Count(logs.String(), "APP_ALLOWED_HOSTS"); n != 1 || !strings.Contains(logs.String(), "mon-1.corp.example:8003") {
		t.Fatalf("%d warnings, want 1 naming the host:\n%s", n, logs.String())
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAllowedHostsAreAccepted: APP_ALLOWED_HOSTS adds names (any port) and
// subdomain patterns; "*" accepts anything.
func TestAllowedHostsAreAccepted(t *testing.T) {
	s := serve(t, Config{AllowedHosts: []string{"dash.example.com", "*.corp.example"}}, ok())
	for host, want := range map[string]int{
		"dash.example.com:8003": 200, "DASH.example.com": 200, "dash.example.com.": 200,
		"a.corp.example": 200, "b.a.corp.example:1": 200,
		"corp.example": 421, "xcorp.example": 421, "example.com": 421, "evil.example": 421,
	} {
		if code, body := s.do("GET", "/", host); code != want {
			t.Errorf("Host %s: %d %q, want %d", host, code, body, want)
		}
	}
	anyHost := serve(t, Config{AnyHost: true}, ok())
	if code, _ := anyHost.do("GET", "/", "evil.example"); code != http.StatusOK {
		t.Errorf("APP_ALLOWED_HOSTS=*: %d, want 200", code)
	}
}

// TestCrossSiteStateChangesAreRefused: a browser's cross-site POST (or
// WebSocket handshake) is refused whether the browser sends Sec-Fetch-Site
// or only Origin; the same request from curl (neither header) or from the
// daemon's own pages is served; cross-site GETs (links to the dashboard)
// are served.
func TestCrossSiteStateChangesAreRefused(t *testing.T) {
	s := serve(t, Config{}, ok())
	self := "http://127.0.0.1:" + s.port
	ws := []string{"Upgrade: websocket", "Connection: Upgrade"}
	for _, c := range []struct {
		name, method string
		headers      []string
		want         int
	}{
		{"curl", "POST", nil, 200},
		{"same origin", "POST", []string{"Sec-Fetch-Site: same-origin", "Origin: " + self}, 200},
		{"typed in the address bar", "POST", []string{"Sec-Fetch-Site: none"}, 200},
		{"old browser, same origin", "POST", []string{"Origin: " + self}, 200},
		{"cross-site", "POST", []string{"Sec-Fetch-Site: cross-site", "Origin: http://evil.example"}, 403},
		{"same-site (another port)", "POST", []string{"Sec-Fetch-Site: same-site", "Origin: http://127.0.0.1:1"}, 403},
		{"old browser, cross-site", "POST", []string{"Origin: http://evil.example"}, 403},
		{"old browser, other port", "POST", []string{"Origin: http://127.0.0.1:1"}, 403},
		{"sandboxed page", "POST", []string{"Origin: null"}, 403},
		{"cross-site PUT", "PUT", []string{"Sec-Fetch-Site: cross-site"}, 403},
		{"cross-site link", "GET", []string{"Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate"}, 200},
		{"cross-site WebSocket", "GET", append([]string{"Sec-Fetch-Site: cross-site", "Origin: http://evil.example"}, ws...), 403},
		{"old browser's cross-site WebSocket", "GET", append([]string{"Origin: http://evil.example"}, ws...), 403},
	} {
		hits := s.hits
		code, body := s.do(c.method, "/publish", "", c.headers...)
		if code != c.want {
			t.Errorf("%s: %d %q, want %d", c.name, code, body, c.want)
		}
		if c.want == 403 && (s.hits != hits || !strings.Contains(body, "cross-site request refused")) {
			t.Errorf("%s: reached the handler, or unclear refusal %q", c.name, body)
		}
	}
}

// TestSameOriginOnlyRefusesCrossSiteGET: endpoints that change state on
// GET (the publisher's /publish) refuse a cross-site GET, such as an image
// on another site, and serve curl's.
func TestSameOriginOnlyRefusesCrossSiteGET(t *testing.T) {
	s := serve(t, Config{}, SameOriginOnly(ok()))
	if code, body := s.do("GET", "/publish", "", "Sec-Fetch-Site: cross-site", "Sec-Fetch-Dest: image"); code != http.StatusForbidden {
		t.Errorf("cross-site image: %d %q, want 403", code, body)
	}
	if code, _ := s.do("GET", "/publish", ""); code != http.StatusOK {
		t.Errorf("curl: %d, want 200", code)
	}
	if code, _ := s.do("GET", "/publish", "", "Sec-Fetch-Site: none"); code != http.StatusOK {
		t.Errorf("typed in the address bar: %d, want 200", code)
	}
}

// connectedStatus is a Status connected to the shared broker, so that it
// has a broker address to hide.
func connectedStatus(t *testing.T) *mq.Status {
	t.Helper()
	st := mq.NewStatus()
	b := config.Broker{URLs: []string{brokertest.Shared(t)}}
	d := mq.NewDialer(mq.DialConfig{URLs: b.URLs, Shown: b.Redacted(), Heartbeat: 10 * time.Second, MaxDelay: time.Second},
		"sysmon-server-test", slog.New(slog.DiscardHandler), st)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx, func(ctx context.Context, conn *amqp.Connection, r func()) error {
			r()
			close(ready)
			<-ctx.Done()
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	<-ready
	return st
}

// TestReadyzHidesTheBrokerFromStrangers: with AUTH_BASIC set, /readyz
// without credentials (or under an unknown host name) tells ready or not,
// never the broker's user and host; with credentials, or without
// authentication configured, it shows them.
func TestReadyzHidesTheBrokerFromStrangers(t *testing.T) {
	st := connectedStatus(t)
	if st.Get().Broker == "" {
		t.Fatal("the connected status names no broker: nothing to hide")
	}
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	ready := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { Ready(w, r, st) })
	type answer struct {
		Ready  bool           `json:"ready"`
		Broker map[string]any `json:"broker"`
	}
	get := func(s *served, host string, headers ...string) answer {
		t.Helper()
		code, body := s.do("GET", "/readyz", host, headers...)
		var a answer
		if err := json.Unmarshal([]byte(body), &a); err != nil || code != http.StatusOK || !a.Ready {
			t.Fatalf("/readyz: %d %q %v", code, body, err)
		}
		if a.Broker["state"] != "connected" {
			t.Errorf("/readyz does not tell the state: %q", body)
		}
		return a
	}
	basic := "Authorization: Basic " + basicOf("u", "pw")
	protected := serve(t, Config{Auth: auth.Config{User: "u", PasswordHash: h}}, ready)
	if a := get(protected, ""); a.Broker["broker"] != nil || a.Broker["last_error"] != nil {
		t.Errorf("without credentials: %v shows the broker", a.Broker)
	}
	if a := get(protected, "evil.example", basic); a.Broker["broker"] != nil {
		t.Errorf("under an unknown host name: %v shows the broker", a.Broker)
	}
	if a := get(protected, "", basic); a.Broker["broker"] != st.Get().Broker {
		t.Errorf("with credentials: %v, want the broker %q", a.Broker, st.Get().Broker)
	}
	open := serve(t, Config{}, ready)
	if a := get(open, ""); a.Broker["broker"] != st.Get().Broker {
		t.Errorf("without authentication configured: %v, want the broker", a.Broker)
	}
	if a := get(open, "evil.example"); a.Broker["broker"] != nil {
		t.Errorf("open, under an unknown host name: %v shows the broker", a.Broker)
	}
}

func basicOf(user, pw string) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pw)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}
