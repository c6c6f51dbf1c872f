package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/hub"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/server"
	"github.com/sysmon-dev/sysmon/internal/web"
)

// dashboard serves the consumer's web surface the way the daemon does
// (server.Open on a real listener) and returns its base URL.
func dashboard(t *testing.T, hc server.Config) string {
	t.Helper()
	fl := fleet.New(fleet.Config{HistorySize: 4, MaxHosts: 4, StaleAfter: 3, OfflineAfter: 10})
	w := web.New(web.Options{Version: "test"}, fl, hub.New(fl, hub.Options{SendBuffer: 16}, slog.New(slog.DiscardHandler)),
		mq.NewStatus(), slog.New(slog.DiscardHandler))
	hc.Host, hc.Port = "127.0.0.1", 0
	srv, err := server.Open(hc, w.Handler(), slog.New(slog.DiscardHandler), "the dashboard")
	if err != nil {
		t.Fatal(err)
	}
	srv.RegisterOnShutdown(w.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		w.Close()
	})
	return srv.URL()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestVendorIsNotListed: the dashboard's static files are served, its
// directories are not listed.
func TestVendorIsNotListed(t *testing.T) {
	base := dashboard(t, server.Config{})
	for _, path := range []string{"/vendor/", "/vendor", "/vendor//", "/vendor/./"} {
		if code, body := get(t, base+path); code != http.StatusNotFound || strings.Contains(body, "uPlot") {
			t.Errorf("%s: %d %q, want 404 without a listing", path, code, body)
		}
	}
	for path, has := range map[string]string{"/": "<html", "/vendor/uPlot.min.css": ".uplot", "/app.js": "new Worker(", "/stream.js": "new WebSocket("} {
		if code, body := get(t, base+path); code != http.StatusOK || !strings.Contains(body, has) {
			t.Errorf("%s: %d, want 200 with %q", path, code, has)
		}
	}
}

// TestFilesAreRevalidated: each of the dashboard's files has an ETag of
// its own and Cache-Control: no-cache; asked again with its ETag it is
// 304 Not Modified without a body, with another one it is sent whole.
func TestFilesAreRevalidated(t *testing.T) {
	base := dashboard(t, server.Config{})
	fetch := func(path, tag string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tag != "" {
			req.Header.Set("If-None-Match", tag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	seen := map[string]string{}
	for _, path := range []string{"/", "/index.html", "/app.js", "/stream.js", "/vendor/uPlot.min.css"} {
		resp, body := fetch(path, "")
		tag := resp.Header.Get("ETag")
		if resp.StatusCode != http.StatusOK || body == "" || !strings.HasPrefix(tag, `"`) || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%s: %d, ETag %q, Cache-Control %q; want 200, an ETag, no-cache", path, resp.StatusCode, tag, resp.Header.Get("Cache-Control"))
		}
		if other, ok := seen[tag]; ok && !(path == "/index.html" && other == "/") {
			t.Errorf("%s has the ETag of %s", path, other)
		}
		seen[tag] = path
		if resp, body := fetch(path, tag); resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("%s with its ETag: %d and %d bytes, want 304 and none", path, resp.StatusCode, len(body))
		}
		if resp, body := fetch(path, `"another"`); resp.StatusCode != http.StatusOK || body == "" {
			t.Errorf("%s with another ETag: %d and %d bytes, want 200 and the file", path, resp.StatusCode, len(body))
		}
	}
}

// TestWebSocketOriginRule: the dashboard's own page connects (with a
// modern browser's Sec-Fetch-Site or an old one's Origin, also behind a
// proxy that rewrites Host); a page of another site does not, whether the
// server's guard or the upgrader sees it.
func TestWebSocketOriginRule(t *testing.T) {
	base := dashboard(t, server.Config{})
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	dial := func(headers ...string) (int, error) {
		h := http.Header{}
		for _, kv := range headers {
			k, v, _ := strings.Cut(kv, ": ")
			h.Set(k, v)
		}
		c, resp, err := websocket.DefaultDialer.Dial(wsURL, h)
		if err != nil {
			if resp == nil {
				return 0, err
			}
			return resp.StatusCode, err
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.ReadMessage()
		var state struct{ Type string }
		if err == nil {
			err = json.Unmarshal(b, &state)
		}
		if err != nil || state.Type != "state" {
			t.Fatalf("no state frame: %v %q", err, b)
		}
		return http.StatusSwitchingProtocols, nil
	}
	for _, c := range []struct {
		name    string
		headers []string
		want    int
	}{
		{"not a browser", nil, 101},
		{"same origin", []string{"Sec-Fetch-Site: same-origin", "Origin: " + base}, 101},
		{"old browser, same origin", []string{"Origin: " + base}, 101},
		{"behind a proxy that rewrites Host", []string{"Sec-Fetch-Site: same-origin", "Origin: https://dash.example.com"}, 101},
		{"cross-site", []string{"Sec-Fetch-Site: cross-site", "Origin: http://evil.example"}, 403},
		{"old browser, cross-site", []string{"Origin: http://evil.example"}, 403},
	} {
		code, err := dial(c.headers...)
		if code != c.want {
			t.Errorf("%s: %d (%v), want %d", c.name, code, err, c.want)
		}
	}
	// The upgrader applies the same rule on its own.
	r, _ := http.NewRequest("GET", wsURL, nil)
	r.Host = "127.0.0.1:1"
	r.Header.Set("Origin", "http://127.0.0.1:1")
	if !server.SameOrigin(r) {
		t.Error("SameOrigin refuses the page's own origin")
	}
	r.Header.Set("Sec-Fetch-Site", "same-site")
	if server.SameOrigin(r) {
		t.Error("SameOrigin accepts a same-site page")
	}
}
