package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// fakeSampler returns a fixed sample, or fails when told to.
type fakeSampler struct {
	calls atomic.Int32
	fail  atomic.Bool
}

func (f *fakeSampler) Sample(context.Context) (*snapshot.Snapshot, error) {
	f.calls.Add(1)
	if f.fail.Load() {
		return nil, errors.New("collector broken")
	}
	return &snapshot.Snapshot{Timestamp: "2026-11-29 10:00:00", Platform: "Linux", CPUCount: 2, CPUPercent: 12.5}, nil
}

func newService(t *testing.T, cfg Config) (*Service, *fakeSampler, *mq.Outbox, *bytes.Buffer) {
	t.Helper()
	if cfg.HostName == "" {
		cfg.HostName = "web-01"
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 1000
	}
	if cfg.PublishTimeout == 0 {
		cfg.PublishTimeout = time.Second
	}
	if cfg.CollectTimeout == 0 {
		cfg.CollectTimeout = time.Second
	}
	var logs bytes.Buffer
	s := &fakeSampler{}
	out := mq.NewOutbox(10)
	svc := New(cfg, s, out, mq.NewStatus(), slog.New(slog.NewTextHandler(&logs, nil)), "1.2.3")
	return svc, s, out, &logs
}

func get(t *testing.T, h http.Handler, method, path string) (int, map[string]any, http.Header) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s %s: not JSON: %q", method, path, w.Body.String())
	}
	return w.Code, body, w.Header()
}

// With the broker away, /publish queues the snapshot and says so with 202,
// in the prototype's answer shape, with the snapshot stamped for this host.
func TestPublishWhileBrokerAway(t *testing.T) {
	svc, _, out, _ := newService(t, Config{Interval: 2 * time.Second})
	h := svc.Handler()
	for i, method := range []string{http.MethodGet, http.MethodPost} {
		code, body, _ := get(t, h, method, "/publish")
		if code != http.StatusAccepted || body["status"] != "queued" || !strings.Contains(body["message"].(string), "broker unreachable") {
			t.Fatalf("%s /publish: %d %v", method, code, body)
		}
		data := body["data"].(map[string]any)
		if data["host"] != "web-01" || data["seq"].(float64) != float64(i+1) || data["instance_id"] != svc.Instance() ||
			data["interval_seconds"].(float64) != 2 || data["agent_version"] != "1.2.3" || data["cpu_percent"].(float64) != 12.5 {
			t.Fatalf("snapshot %v", data)
		}
	}
	if out.Len() != 2 || svc.Published() != 2 {
		t.Fatalf("outbox %d, published %d; want 2, 2", out.Len(), svc.Published())
	}
}

// Over PUBLISH_RATE_LIMIT: 429 with Retry-After, counted, logged once, and
// nothing sampled or queued.
func TestPublishRateLimited(t *testing.T) {
	svc, sampler, out, logs := newService(t, Config{RateLimit: 2})
	h := svc.Handler()
	codes := map[int]int{}
	for range 6 {
		code, body, hdr := get(t, h, http.MethodGet, "/publish")
		codes[code]++
		if code == http.StatusTooManyRequests && (hdr.Get("Retry-After") != "1" || body["status"] != "error") {
			t.Fatalf("429 answer %v %v", hdr, body)
		}
	}
	if codes[http.StatusAccepted] != 2 || codes[http.StatusTooManyRequests] != 4 {
		t.Fatalf("codes %v: want the burst of 2 accepted, 4 refused", codes)
	}
	if svc.RateLimited() != 4 || sampler.calls.Load() != 2 || out.Len() != 2 {
		t.Fatalf("rate limited %d, sampled %d, queued %d", svc.RateLimited(), sampler.calls.Load(), out.Len())
	}
	if n := strings.Count(logs.String(), "rate-limiting /publish"); n != 1 {
		t.Fatalf("%d log lines about the limit, want 1:\n%s", n, logs)
	}
}

// A failed sample is a 500 with the reason, never "200 with an error inside",
// and nothing is queued.
func TestPublishSampleFailure(t *testing.T) {
	svc, sampler, out, _ := newService(t, Config{})
	sampler.fail.Store(true)
	code, body, _ := get(t, svc.Handler(), http.MethodPost, "/publish")
	if code != http.StatusInternalServerError || body["status"] != "error" || !strings.Contains(body["message"].(string), "collector broken") {
		t.Fatalf("%d %v", code, body)
	}
	if out.Len() != 0 || svc.Published() != 0 {
		t.Fatalf("queued %d, published %d after a failed sample", out.Len(), svc.Published())
	}
	_, info, _ := get(t, svc.Handler(), http.MethodGet, "/")
	if info["snapshots"].(map[string]any)["sample_failures"].(float64) != 1 {
		t.Fatalf("GET / does not count the failure: %v", info)
	}
}

// GET / keeps the prototype's "message" and tells version, host and broker.
func TestInfo(t *testing.T) {
	svc, _, _, _ := newService(t, Config{})
	code, info, _ := get(t, svc.Handler(), http.MethodGet, "/")
	if code != http.StatusOK || info["message"] != "System Info Publisher Service" || info["version"] != "1.2.3" ||
		info["host"] != "web-01" || info["broker"] == nil {
		t.Fatalf("%d %v", code, info)
	}
	if code, _, _ := get(t, svc.Handler(), http.MethodGet, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz %d", code)
	}
}

// Run publishes every interval, beats, and queues a goodbye when stopped;
// with PUBLISH_INTERVAL=0 it publishes only on demand, goodbye included.
func TestRunPeriodicAndGoodbye(t *testing.T) {
	for _, c := range []struct {
		name      string
		interval  time.Duration
		beatEvery time.Duration
		min       int
	}{{"every 20ms", 20 * time.Millisecond, 0, 3}, {"on demand", 0, 0, 0}, {"on demand, watchdog", 0, 10 * time.Millisecond, 0}} {
		t.Run(c.name, func(t *testing.T) {
			svc, _, out, _ := newService(t, Config{Interval: c.interval})
			ctx, cancel := context.WithCancel(context.Background())
			var beats atomic.Int32
			done := make(chan error)
			go func() { done <- svc.Run(ctx, func() { beats.Add(1) }, c.beatEvery) }()
			if c.interval > 0 {
				deadline := time.Now().Add(20 * time.Second)
				for out.Len() < c.min && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
			} else {
				time.Sleep(100 * time.Millisecond)
			}
			before := out.Len()
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if before < c.min {
				t.Fatalf("%d periodic snapshots, want at least %d", before, c.min)
			}
			if c.interval == 0 && before != 0 {
				t.Fatalf("%d snapshots published with PUBLISH_INTERVAL=0", before)
			}
			if out.Len() != before+1 || svc.Published() != uint64(before+1) {
				t.Fatalf("after stop: outbox %d, published %d; want the goodbye on top of %d", out.Len(), svc.Published(), before)
			}
			if (c.interval > 0 || c.beatEvery > 0) && beats.Load() == 0 {
				t.Fatal("Run never beat")
			}
		})
	}
}
