package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/history"
	"github.com/sysmon-dev/sysmon/internal/hub"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
	"github.com/sysmon-dev/sysmon/internal/web"
)

// fakeReader answers with what it was asked (a double for the routes'
// parsing; the e2e tests query the real store).
type fakeReader struct {
	host     string
	from, to time.Time
	step     time.Duration
	limit    int
	points   int
	err      error
}

func (f *fakeReader) Query(_ context.Context, host string, from, to time.Time, step time.Duration) (*history.Series, error) {
	f.host, f.from, f.to, f.step = host, from, to, step
	s := &history.Series{Host: host, From: from, To: to, Tier: history.TierRaw, Figures: map[string]*history.Band{}}
	for i := range f.points {
		s.T = append(s.T, from.Add(time.Duration(i)*time.Second).UnixMilli())
	}
	return s, f.err
}

func (f *fakeReader) Events(_ context.Context, host string, from, to time.Time, limit int) ([]history.Event, error) {
	f.host, f.from, f.to, f.limit = host, from, to, limit
	return []history.Event{{T: to, Host: "db-01", Kind: history.EventOnline}}, f.err
}

func historyServer(t *testing.T, opts web.Options, names ...string) string {
	t.Helper()
	f := fleet.New(fleet.Config{HistorySize: 4, MaxHosts: 100, StaleAfter: 3, OfflineAfter: 10})
	for _, n := range names {
		s := &snapshot.Snapshot{Timestamp: "t", CPUPercent: 1, Memory: snapshot.Memory{Total: 1, Percent: 1}, Host: n, InstanceID: "i", Seq: 1, IntervalSeconds: 2}
		b, _ := snapshot.Encode(s)
		f.Apply(s, b, "", time.Now())
	}
	w := web.New(opts, f, hub.New(f, hub.Options{SendBuffer: 16}, slog.New(slog.DiscardHandler)), mq.NewStatus(), slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(func() { srv.Close(); w.Close() })
	return srv.URL
}

func getJSON(t *testing.T, u string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %d, not JSON: %q", u, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// TestHistoryAPI: both forms reach the store with the range asked (RFC 3339
// or unix seconds, the last hour by default), bad values are 400 with the
// parameter named, a host neither known nor stored is 404, a store error
// is 500 with its message.
func TestHistoryAPI(t *testing.T) {
	r := &fakeReader{points: 3}
	base := historyServer(t, web.Options{History: r}, "db-01", "a/b")

	before := time.Now()
	if code, _ := getJSON(t, base+"/api/hosts/db-01/history"); code != 200 || r.host != "db-01" || r.to.Before(before) || r.to.Sub(r.from) != time.Hour || r.step != 0 {
		t.Fatalf("default range: %d, asked %+v", code, r)
	}
	code, body := getJSON(t, base+"/api/hosts/a%2Fb/history?from=2026-11-01T00:00:00Z&to=1793577600&step=5m")
	if code != 200 || r.host != "a/b" || !r.from.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || r.to.Unix() != 1793577600 || r.step != 5*time.Minute || body["host"] != "a/b" {
		t.Fatalf("explicit range: %d %v, asked %+v", code, body, r)
	}
	if code, _ := getJSON(t, base+"/api/history?host=a%2Fb&from=1793570000"); code != 200 || r.host != "a/b" || r.from.Unix() != 1793570000 {
		t.Fatalf("?host= form: %d, asked %+v", code, r)
	}
	for q, msg := range map[string]string{
		"from=yesterday":         "from: expected RFC 3339",
		"to=0x10":                "to: expected RFC 3339",
		"from=NaN":               "from: expected",
		"from=1793577600&to=100": "must be before to",
		"from=0&to=1793577600":   "at most 20 years",
		"step=soon":              "step: expected a duration",
	} {
		if code, body := getJSON(t, base+"/api/hosts/db-01/history?"+q); code != 400 || !strings.Contains(body["error"].(string), msg) {
			t.Errorf("%s: %d %v, want 400 with %q", q, code, body, msg)
		}
	}
	if code, _ := getJSON(t, base+"/api/history"); code != 400 {
		t.Errorf("/api/history without host: %d, want 400", code)
	}
	r.points = 0
	if code, body := getJSON(t, base+"/api/hosts/nobody/history"); code != 404 || !strings.Contains(body["error"].(string), "unknown host") {
		t.Errorf("unknown host: %d %v, want 404", code, body)
	}
	if code, _ := getJSON(t, base+"/api/hosts/db-01/history"); code != 200 {
		t.Errorf("a known host without history yet: %d, want 200 (an empty series)", code)
	}
	r.err = errors.New("disk on fire")
	if code, body := getJSON(t, base+"/api/hosts/db-01/history"); code != 500 || !strings.Contains(body["error"].(string), "disk on fire") {
		t.Errorf("store error: %d %v, want 500 with the error", code, body)
	}
}

// TestEventsAPI: host and limit reach the store, a week by default,
// bad limits are 400.
func TestEventsAPI(t *testing.T) {
	r := &fakeReader{}
	base := historyServer(t, web.Options{History: r})
	code, body := getJSON(t, base+"/api/events?host=db-01&limit=5")
	if evs, _ := body["events"].([]any); code != 200 || r.host != "db-01" || r.limit != 5 || r.to.Sub(r.from) != 7*24*time.Hour || len(evs) != 1 {
		t.Fatalf("%d %v, asked %+v", code, body, r)
	}
	if code, _ := getJSON(t, base+"/api/events"); code != 200 || r.host != "" || r.limit != 200 {
		t.Fatalf("fleet-wide: %d, asked %+v", code, r)
	}
	for _, q := range []string{"limit=0", "limit=x", "limit=100001", "from=later"} {
		if code, _ := getJSON(t, base+"/api/events?"+q); code != 400 {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
}

// TestNoHistory: without a store the history routes say why, in JSON: 404
// when none is configured, 503 when it failed to open; /api/status too.
func TestNoHistory(t *testing.T) {
	base := historyServer(t, web.Options{NoHistory: "STATE_DIR is empty"}, "db-01")
	for _, p := range []string{"/api/hosts/db-01/history", "/api/history?host=db-01", "/api/events"} {
		if code, body := getJSON(t, base+p); code != 404 || !strings.Contains(body["error"].(string), "STATE_DIR is empty") {
			t.Errorf("%s: %d %v, want 404 saying why", p, code, body)
		}
	}
	if _, body := getJSON(t, base+"/api/status"); !strings.Contains(mustJSON(body["history"]), "STATE_DIR is empty") {
		t.Errorf("/api/status history: %v", body["history"])
	}
	base = historyServer(t, web.Options{NoHistory: "cannot open /x: permission denied", HistoryFailed: true})
	if code, _ := getJSON(t, base+"/api/events"); code != 503 {
		t.Errorf("a store that failed to open: %d, want 503", code)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSparklinesAPI: one request answers many hosts' last hour of CPU at a
// minute's step; too many hosts, or none, is 400.
func TestSparklinesAPI(t *testing.T) {
	r := &fakeReader{points: 2}
	base := historyServer(t, web.Options{History: r})
	code, body := getJSON(t, base+"/api/sparklines?host=a&host=b%2Fc")
	hosts, _ := body["hosts"].(map[string]any)
	if code != 200 || len(hosts) != 2 || hosts["b/c"] == nil || r.step != 30*time.Second || r.to.Sub(r.from) != time.Hour {
		t.Fatalf("%d %v, asked %+v", code, body, r)
	}
	if code, _ := getJSON(t, base+"/api/sparklines"); code != 400 {
		t.Errorf("no host: %d, want 400", code)
	}
	if code, _ := getJSON(t, base+"/api/sparklines?"+strings.Repeat("host=x&", 101)); code != 400 {
		t.Errorf("101 hosts: %d, want 400", code)
	}
}
