package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// TestFaultBrowserAccess: the real daemons refuse what a hostile web page
// could do through the visitor's browser, and keep serving everyone else:
// DNS rebinding (an unknown Host) gets 421, a cross-site /publish (POST, or
// GET from an image) 403 and publishes nothing while curl's works, /vendor/
// lists nothing, and /readyz hides the broker from callers without
// credentials.
func TestFaultBrowserAccess(t *testing.T) {
	faultTest(t)
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
	before := pubInfo(t, pub).Snapshots.Published
	refused := map[int]int{}
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
		refused[code]++
	}
	// Only the two curl calls published.
	if n := pubInfo(t, pub).Snapshots.Published - before; n != 2 {
		t.Errorf("%d snapshots published, want 2 (the curl calls only)", n)
	}
	record(t, faultRow{Fault: "9. browser: DNS rebinding, cross-site /publish, /vendor/ listing, /readyz detail", Recovery: "refused at once",
		Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1,
		Note: fmt.Sprintf("unknown Host → 421 (%d: API, WebSocket, /publish); cross-site POST and image GET → 403 (%d), 0 published; "+
			"curl /publish 200; /vendor/ 404; /readyz without credentials shows the state, not the broker", refused[421], refused[403])})
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

// TestFaultLoginFlood: one address flooding wrong passwords is refused with
// 429 after its burst, while another address still logs in and still gets
// its own wrong guesses checked (401, not 429). A wrong user name and a
// wrong password cost the same check (figures printed, not asserted).
func TestFaultLoginFlood(t *testing.T) {
	faultTest(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cons := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": brokertest.Shared(t), "EXCHANGE_NAME": brokertest.Name(t, "ex"),
		"QUEUE_NAME": brokertest.Name(t, "q"), "AUTH_BASIC": "admin:" + string(hash)})
	cons.WaitReady(t, 30*time.Second)
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	}
	try := func(c *http.Client, user, pw string) (int, time.Duration) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, cons.Base+"/api/status", nil)
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, took
	}
	attacker, user := from("127.0.0.2"), from("127.0.0.1")
	codes := map[int]int{}
	for i := 0; i < 200; i++ {
		code, _ := try(attacker, "admin", fmt.Sprint("guess", i))
		codes[code]++
	}
	if codes[http.StatusTooManyRequests] == 0 || codes[http.StatusUnauthorized] == 0 || len(codes) != 2 {
		t.Fatalf("flood from 127.0.0.2: %v, want 401s then 429s", codes)
	}
	if code, _ := try(user, "admin", "pw"); code != http.StatusOK {
		t.Errorf("127.0.0.1 with the password during the flood: %d, want 200", code)
	}
	if code, _ := try(user, "admin", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("127.0.0.1 with a wrong password during the flood: %d, want 401 (checked, not limited)", code)
	}
	if code, _ := try(attacker, "admin", "another guess"); code != http.StatusTooManyRequests {
		t.Errorf("the flooding address is no longer limited: %d", code)
	}
	// Wrong user and wrong password, interleaved, 5 of each from each of 10
	// fresh addresses (a burst of 10 each); a request without credentials
	// (not counted) opens the connection first.
	var wrongUser, wrongPw []time.Duration
	var other *http.Client
	for i := 0; i < 50; i++ {
		if i%5 == 0 {
			other = from(fmt.Sprintf("127.0.1.%d", i/5+1))
			try(other, "", "")
		}
		code, d := try(other, "root", "pw")
		if code != http.StatusUnauthorized {
			t.Fatalf("wrong user: %d", code)
		}
		wrongUser = append(wrongUser, d)
		code, d = try(other, "admin", "nope")
		if code != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", code)
		}
		wrongPw = append(wrongPw, d)
	}
	median := func(ds []time.Duration) string {
		slices.Sort(ds)
		return fmt.Sprintf("%.1f ms", float64(ds[len(ds)/2].Microseconds())/1000)
	}
	record(t, faultRow{Fault: "10. HTTP: wrong-password flood from one address", Recovery: "limited after the burst",
		Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1,
		Note: fmt.Sprintf("127.0.0.2: %d×401 then %d×429; meanwhile 127.0.0.1: right password 200, wrong one 401; "+
			"wrong user %s vs wrong password %s (median of 50, bcrypt cost %d, daemon built with -race)",
			codes[http.StatusUnauthorized], codes[http.StatusTooManyRequests], median(wrongUser), median(wrongPw), bcrypt.MinCost)})
}
