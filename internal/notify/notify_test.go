package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/alert"
)

func note() *alert.Notification {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &alert.Notification{ID: "n1", Time: t, Alerts: []alert.Event{{Key: alert.Key{Rule: alert.CPU, Host: "web1"},
		State: alert.StateFiring, Severity: "critical", Since: t, Value: 97, Summary: "web1 CPU at 97%"}}}
}

func TestWebhookSignsAndSendsThePayload(t *testing.T) {
	var body []byte
	var sig string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		sig = r.Header.Get(SignatureHeader)
	}))
	defer srv.Close()
	w := &Webhook{URL: srv.URL, Secret: []byte("s3cret")}
	if err := w.Send(context.Background(), note()); err != nil {
		t.Fatal(err)
	}
	if !Verify([]byte("s3cret"), body, sig) || Verify([]byte("other"), body, sig) {
		t.Fatalf("signature %q does not verify", sig)
	}
	var p struct {
		Source string `json:"source"`
		ID     string `json:"id"`
		Alerts []struct {
			Rule, Host, State string
			Value             float64
		} `json:"alerts"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Source != "sysmon-consumer" || p.ID != "n1" || len(p.Alerts) != 1 || p.Alerts[0].Rule != "cpu" || p.Alerts[0].Host != "web1" ||
		p.Alerts[0].State != "firing" || p.Alerts[0].Value != 97 {
		t.Fatalf("payload: %s", body)
	}
}

func TestWebhookErrorsHideTheURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadGateway)
	}))
	url := srv.URL + "/hook/TOKEN123"
	err := (&Webhook{URL: url}).Send(context.Background(), note())
	if err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("want a 502 failure, got %v", err)
	}
	srv.Close()
	err = (&Webhook{URL: url}).Send(context.Background(), note())
	if err == nil || strings.Contains(err.Error(), "TOKEN123") {
		t.Fatalf("want a failure without the URL's token, got %v", err)
	}
}

// A redirect is a failure, not a delivery: Go would follow it with a GET
// without the body.
func TestWebhookRedirectIsNotDelivery(t *testing.T) {
	got := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
			return
		}
		got++
	}))
	defer srv.Close()
	err := (&Webhook{URL: srv.URL + "/old"}).Send(context.Background(), note())
	if err == nil || !strings.Contains(err.Error(), "301") || got != 0 {
		t.Fatalf("want a 301 failure and nothing at /new, got %v, %d", err, got)
	}
}
