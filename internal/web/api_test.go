package web_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/hub"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
	"github.com/sysmon-dev/sysmon/internal/web"
)

func apiServer(t *testing.T, names ...string) string {
	t.Helper()
	f := fleet.New(fleet.Config{HistorySize: 4, MaxHosts: 100, StaleAfter: 3, OfflineAfter: 10})
	for _, n := range names {
		s := &snapshot.Snapshot{Timestamp: "2026-01-01T00:00:00Z", CPUPercent: 1, Memory: snapshot.Memory{Total: 1, Percent: 1},
			Host: n, InstanceID: "i", Seq: 1, IntervalSeconds: 2}
		b, err := snapshot.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := snapshot.Decode(b, 1<<20); err != nil {
			t.Fatalf("host name %q is not accepted: %v", n, err)
		}
		if f.Apply(s, b, "", time.Now()) != fleet.Accepted {
			t.Fatalf("%q not accepted", n)
		}
	}
	w := web.New(web.Options{Version: "test"}, f, hub.New(f, hub.Options{SendBuffer: 16}, slog.New(slog.DiscardHandler)),
		mq.NewStatus(), slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(func() { srv.Close(); w.Close() })
	return srv.URL
}

// rawGet sends the request target exactly as given (no client-side
// cleaning of dot segments) and returns the status and body.
func rawGet(t *testing.T, base, target string) (int, []byte) {
	t.Helper()
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, u.Host)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestEveryHostNameIsReachable: every name a snapshot may carry, dot
// segments and slashes included, is served by /api/hosts/{host} when
// percent-encoded (encodeURIComponent, dots as %2E), and by
// /api/hosts?host=NAME, as the dashboard asks.
func TestEveryHostNameIsReachable(t *testing.T) {
	names := []string{".", "..", "...", "a/b", "../x", "50%", "a b", "ü-host", "q?x#y", "web-1.example.com"}
	base := apiServer(t, names...)
	for _, n := range names {
		target := "/api/hosts/" + strings.ReplaceAll(url.PathEscape(n), ".", "%2E")
		target = strings.ReplaceAll(target, "/", "%2F")
		target = strings.Replace(target, "%2Fapi%2Fhosts%2F", "/api/hosts/", 1)
		for _, target := range []string{target, "/api/hosts?host=" + url.QueryEscape(n)} {
			code, body := rawGet(t, base, target)
			if code != http.StatusOK {
				t.Errorf("%q as %s: HTTP %d %s", n, target, code, body)
				continue
			}
			var e struct {
				Host    string `json:"host"`
				History []any  `json:"history"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Host != n || len(e.History) != 1 {
				t.Errorf("%q as %s: %v, %s", n, target, err, body)
			}
		}
	}
	// Through a real client, which removes literal dot segments: the
	// escaped form survives.
	resp, err := http.Get(base + "/api/hosts/%2E%2E")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"host":".."`) {
		t.Fatalf("GET /api/hosts/%%2E%%2E: HTTP %d %s", resp.StatusCode, b)
	}
	for _, target := range []string{"/api/hosts/nope", "/api/hosts?host=nope", "/api/hosts?host="} {
		if code, _ := rawGet(t, base, target); code != http.StatusNotFound {
			t.Fatalf("%s: HTTP %d, want 404", target, code)
		}
	}
}

// TestForgetHost: DELETE forgets a host by either form, answers 404 for a
// name it does not know and 400 without one; the host is gone from the API.
func TestForgetHost(t *testing.T) {
	base := apiServer(t, "a/b", "old-db", "..")
	del := func(target string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodDelete, base+target, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for target, want := range map[string]int{
		"/api/hosts/old-db": http.StatusNoContent, "/api/hosts?host=a%2Fb": http.StatusNoContent,
		"/api/hosts/%2E%2E": http.StatusNoContent, "/api/hosts?host=nope": http.StatusNotFound,
		"/api/hosts": http.StatusBadRequest,
	} {
		if code := del(target); code != want {
			t.Errorf("DELETE %s: HTTP %d, want %d", target, code, want)
		}
	}
	if code := del("/api/hosts/old-db"); code != http.StatusNotFound {
		t.Errorf("DELETE of a forgotten host: HTTP %d, want 404", code)
	}
	for _, target := range []string{"/api/hosts?host=old-db", "/api/hosts?host=a%2Fb", "/api/hosts?host=.."} {
		if code, _ := rawGet(t, base, target); code != http.StatusNotFound {
			t.Errorf("GET %s after DELETE: HTTP %d, want 404", target, code)
		}
	}
}
