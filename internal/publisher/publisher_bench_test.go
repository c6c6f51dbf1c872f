package publisher

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
	"github.com/sysmon-dev/sysmon/internal/collect"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// benchExchange declares a durable fanout exchange feeding a bounded durable
// queue, as a consumer's would, and removes both when the benchmark ends.
func benchExchange(b *testing.B, url string) string {
	b.Helper()
	ex := brokertest.Name(b, "sysmon-bench")
	conn, err := amqp.Dial(url)
	if err != nil {
		b.Fatal(err)
	}
	ch, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	if err := ch.ExchangeDeclare(ex, "fanout", true, false, false, false, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := ch.QueueDeclare(ex, true, false, false, false,
		amqp.Table{"x-max-length": int64(1000), "x-overflow": "drop-head"}); err != nil {
		b.Fatal(err)
	}
	if err := ch.QueueBind(ex, "", ex, false, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_, _ = ch.QueueDelete(ex, false, false, false)
		_ = ch.ExchangeDelete(ex, false, false)
		conn.Close()
	})
	return ex
}

// BenchmarkPublish is the publisher's whole cost of one snapshot: sample the
// host, encode, queue, publish and wait for the broker's confirm.
func BenchmarkPublish(b *testing.B) {
	url := brokertest.Shared(b)
	ex := benchExchange(b, url)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	status := mq.NewStatus()
	outbox := mq.NewOutbox(1000)
	cfg := Config{HostName: "bench", Interval: time.Second, PublishTimeout: 2 * time.Second, RateLimit: 1e6,
		CollectTimeout: time.Second}
	svc := New(cfg, collect.New(log, time.Second), outbox, status, log, "bench")
	broker := mq.DialConfig{URLs: []string{url}, Heartbeat: 10 * time.Second, MaxDelay: time.Second}
	pub := &mq.Publisher{Dialer: mq.NewDialer(broker, "sysmon-bench", log, status), Exchange: ex, ExchangeType: "fanout",
		Outbox: outbox, Log: log, DrainTimeout: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pub.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	for !status.Connected() {
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, it, err := svc.Publish(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := <-it.Done(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBarePublishConfirm is the floor under BenchmarkPublish: the same
// body published with amqp091-go and confirmed, nothing else.
func BenchmarkBarePublishConfirm(b *testing.B) {
	url := brokertest.Shared(b)
	ex := benchExchange(b, url)
	s, err := collect.New(slog.New(slog.NewTextHandler(io.Discard, nil)), time.Second).Sample(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	body, _ := snapshot.Encode(s)
	conn, err := amqp.Dial(url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, ex, "bench", false, false, amqp.Publishing{
			ContentType: "application/json", DeliveryMode: amqp.Persistent, Timestamp: time.Now(), Body: body})
		if err != nil {
			b.Fatal(err)
		}
		if ok, err := dc.WaitContext(ctx); !ok || err != nil {
			b.Fatal("not confirmed", err)
		}
	}
}
