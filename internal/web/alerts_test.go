package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/sysmon-dev/sysmon/internal/alert"
	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/hub"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/server"
	"github.com/sysmon-dev/sysmon/internal/web"
)

func alertsDashboard(t *testing.T) string {
	t.Helper()
	fl := fleet.New(fleet.Config{HistorySize: 4, MaxHosts: 4, StaleAfter: 3, OfflineAfter: 10})
	w := web.New(web.Options{Version: "test", Alerts: alert.NewEngine(alert.DefaultConfig())}, fl,
		hub.New(fl, hub.Options{SendBuffer: 16}, slog.New(slog.DiscardHandler)), mq.NewStatus(), slog.New(slog.DiscardHandler))
	srv, err := server.Open(server.Config{Host: "127.0.0.1"}, w.Handler(), slog.New(slog.DiscardHandler), "the dashboard")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; w.Close() })
	return srv.URL()
}

func send(t *testing.T, method, url, ctype, body string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSilencesAPI(t *testing.T) {
	base := alertsDashboard(t)
	const js = "application/json"
	for _, c := range []struct {
		name, ctype, body string
		code              int
		has               string
	}{
		{"form post", "application/x-www-form-urlencoded", "host=a", 415, "application/json"},
		{"not json", js, "{", 400, "expected one JSON object"},
		{"unknown field", js, `{"host":"a","duration":"1h","evil":1}`, 400, "unknown field"},
		{"two objects", js, `{"host":"a","duration":"1h"}{}`, 400, "one JSON object"},
		{"everything", js, `{"duration":"1h"}`, 400, "needs a host, a rule or both"},
		{"bad rule", js, `{"rule":"nope","duration":"1h"}`, 400, "unknown rule"},
		{"bad duration", js, `{"host":"a","duration":"-1h"}`, 400, "duration"},
		{"no end", js, `{"host":"a"}`, 400, "end before it starts"},
		{"ok", js, `{"host":"a","rule":"cpu","duration":"1h","comment":"maintenance"}`, 201, `"id"`},
	} {
		code, body := send(t, http.MethodPost, base+"/api/silences", c.ctype, c.body)
		if code != c.code || !strings.Contains(body, c.has) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, body, c.code, c.has)
		}
	}
	// A cross-site page cannot add one.
	code, _ := send(t, http.MethodPost, base+"/api/silences", js, `{"host":"b","duration":"1h"}`, "Sec-Fetch-Site", "cross-site")
	if code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", code)
	}
	code, _ = send(t, http.MethodDelete, base+"/api/silences/x", "", "", "Origin", "http://evil.example")
	if code != http.StatusForbidden {
		t.Errorf("cross-site DELETE: %d, want 403", code)
	}
	var v alert.View
	_, body := send(t, http.MethodGet, base+"/api/alerts", "", "")
	if err := json.Unmarshal([]byte(body), &v); err != nil || len(v.Silences) != 1 || v.Silences[0].Host != "a" {
		t.Fatalf("GET /api/alerts: %v %s", err, body)
	}
	if code, _ := send(t, http.MethodDelete, base+"/api/silences/"+v.Silences[0].ID, "", ""); code != http.StatusNoContent {
		t.Errorf("DELETE: %d, want 204", code)
	}
	if code, _ := send(t, http.MethodDelete, base+"/api/silences/"+v.Silences[0].ID, "", ""); code != http.StatusNotFound {
		t.Errorf("DELETE again: %d, want 404", code)
	}
}
