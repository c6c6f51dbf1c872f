package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// TestBrowserAccessToTheDaemons: the real daemons refuse what a hostile web
// page could do through the visitor's browser, and keep serving everyone
// else: DNS rebinding (an unknown Host) gets 421, a cross-site /publish
// (POST, or GET from an image) 403 while curl's works, /vendor/ lists
// nothing, and /readyz hides the broker from callers without credentials.
func TestBrowserAccessToTheDaemons(t *testing.T) {
	url := brokertest.Shared(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	pub := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": brokertest.Name(t, "ex"),
		"PUBLISH_INTERVAL": "0"})
	cons := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": brokertest.Name(t, "ex"),
		"QUEUE_NAME": brokertest.Name(t, "q"), "AUTH_BASIC": "admin:" + string(hash), "APP_ALLOWED_HOSTS": "dash.example.com"})
	pub.WaitReady(t, 30*time.Second)
	cons.WaitReady(t, 30*time.Second)

	do := func(d *Daemon, method, path, host string, anonymous bool, headers ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, d.Base+path, nil)
		if host != "" {
			req.Host = host
		}
		for _, kv := range headers {
			k, v, _ := strings.Cut(kv, ": ")
			req.Header.Set(k, v)
		}
		if d == cons && !anonymous {
			req.SetBasicAuth("admin", "pw")
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	port := cons.Base[strings.LastIndex(cons.Base, ":")+1:]
	for _, c := range []struct {
		name      string
		d         *Daemon
		method    string
		path      string
		host      string
		headers   []string
		want      int
		bodyHas   string
		bodyLacks string
	}{
		{"consumer, rebound name", cons, "GET", "/api/hosts", "evil.example:" + port, nil, 421, "evil.example", ""},
		{"consumer, WebSocket under a rebound name", cons, "GET", "/ws", "evil.example:" + port, []string{"Upgrade: websocket", "Connection: Upgrade"}, 421, "", ""},
		{"consumer, listed name", cons, "GET", "/api/hosts", "dash.example.com:" + port, nil, 200, `"hosts"`, ""},
		{"consumer, localhost", cons, "GET", "/api/hosts", "localhost:" + port, nil, 200, `"hosts"`, ""},
		{"consumer, /vendor/", cons, "GET", "/vendor/", "", nil, 404, "", "uPlot"},
		{"consumer, a vendored file", cons, "GET", "/vendor/uPlot.min.css", "", nil, 200, ".uplot", ""},
		{"consumer, /readyz without credentials", cons, "GET", "/readyz", "", nil, 200, `"connected"`, "amqp://"},
		{"consumer, /readyz with credentials", cons, "GET", "/readyz", "", nil, 200, "amqp://", ""},
		{"publisher, cross-site POST", pub, "POST", "/publish", "", []string{"Sec-Fetch-Site: cross-site", "Origin: http://evil.example"}, 403, "cross-site", ""},
		{"publisher, old browser's cross-site POST", pub, "POST", "/publish", "", []string{"Origin: http://evil.example"}, 403, "cross-site", ""},
		{"publisher, cross-site image", pub, "GET", "/publish", "", []string{"Sec-Fetch-Site: cross-site", "Sec-Fetch-Dest: image"}, 403, "cross-site", ""},
		{"publisher, rebound name", pub, "POST", "/publish", "evil.example:8000", nil, 421, "", ""},
		{"publisher, curl -X POST localhost:8000/publish", pub, "POST", "/publish", "localhost:8000", nil, 200, `"success"`, ""},
		{"publisher, curl", pub, "GET", "/publish", "", nil, 200, `"success"`, ""},
	} {
		code, body := do(c.d, c.method, c.path, c.host, strings.Contains(c.name, "without credentials"), c.headers...)
		if code != c.want || !strings.Contains(body, c.bodyHas) || (c.bodyLacks != "" && strings.Contains(body, c.bodyLacks)) {
			t.Errorf("%s: %d %.300q, want %d with %q without %q", c.name, code, body, c.want, c.bodyHas, c.bodyLacks)
		}
	}
}

// TestBadAllowedHostsExits78: a bad APP_ALLOWED_HOSTS entry stops either
// daemon with file, line, key and what was expected.
func TestBadAllowedHostsExits78(t *testing.T) {
	for _, name := range []string{"sysmon-publisher", "sysmon-consumer"} {
		d := Start(t, name, Env{"APP_ALLOWED_HOSTS": "dash.example.com:8003"})
		select {
		case <-d.Exited():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still running with a bad APP_ALLOWED_HOSTS", name)
		}
		// Keys are written sorted: APP_ALLOWED_HOSTS is line 1.
		if out := d.Output(); d.ExitCode() != 78 || !strings.Contains(out, d.Config+":1: APP_ALLOWED_HOSTS:") ||
			!strings.Contains(out, "give the name alone") {
			t.Errorf("%s: exit %d, output:\n%s", name, d.ExitCode(), out)
		}
	}
}
