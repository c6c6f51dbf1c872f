package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/collect"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/publisher"
	"github.com/sysmon-dev/sysmon/internal/server"
)

// TestPublishRefusesCrossSite: the publisher's routes behind its real
// listener. A page of another site cannot make this host publish, by POST
// or by GET (an image); curl can, by either; an unknown host name (DNS
// rebinding) is refused. Without a broker an accepted /publish answers 202
// (queued), and the outbox counts what was published.
func TestPublishRefusesCrossSite(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	outbox := mq.NewOutbox(100)
	svc := publisher.New(publisher.Config{HostName: "web-1", RateLimit: 1000, PublishTimeout: time.Second},
		collect.New(log, time.Second), outbox, mq.NewStatus(), log, "test")
	srv, err := server.Open(server.Config{Host: "127.0.0.1"}, routes(svc.Handler(), http.NotFoundHandler()), log, "/publish")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	do := func(method, host string, headers ...string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL()+"/publish", nil)
		if host != "" {
			req.Host = host
		}
		for _, kv := range headers {
			k, v, _ := strings.Cut(kv, ": ")
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		name, method, host string
		headers            []string
		want               int
	}{
		{"cross-site POST", "POST", "", []string{"Sec-Fetch-Site: cross-site", "Origin: http://evil.example"}, 403},
		{"old browser's cross-site POST", "POST", "", []string{"Origin: http://evil.example"}, 403},
		{"cross-site image", "GET", "", []string{"Sec-Fetch-Site: cross-site", "Sec-Fetch-Dest: image"}, 403},
		{"DNS rebinding", "GET", "evil.example:8000", nil, 421},
		{"curl -X POST", "POST", "", nil, 202},
		{"curl", "GET", "", nil, 202},
		{"curl localhost:8000", "POST", "localhost:8000", nil, 202},
	} {
		before := svc.Published()
		code, body := do(c.method, c.host, c.headers...)
		if code != c.want {
			t.Errorf("%s: %d %q, want %d", c.name, code, body, c.want)
		}
		published := svc.Published() - before
		if (c.want == 202) != (published == 1) {
			t.Errorf("%s: %d snapshots published", c.name, published)
		}
	}
}
