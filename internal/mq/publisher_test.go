package mq

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// The publisher drains the outbox into the exchange in order, each message
// confirmed before it leaves the outbox, stamps user_id, and on shutdown
// still sends what was owed within DrainTimeout. Against the real broker.
func TestPublisherConfirmsInOrderAndDrains(t *testing.T) {
	url := brokertest.Shared(t)
	exchange, ch, queue := brokertest.Fanout(t, url, nil)
	deliveries, err := ch.Consume(queue, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}

	out := NewOutbox(1000)
	log := slog.New(slog.DiscardHandler)
	p := &Publisher{Dialer: &Dialer{URLs: []string{url}, MaxDelay: time.Second, Name: "sysmon test " + t.Name(), Log: log, Status: NewStatus()},
		Exchange: exchange, ExchangeType: "fanout", Outbox: out, Log: log, DrainTimeout: 10 * time.Second}
	const first, second = 50, 20
	items := make([]*Item, 0, first+second)
	push := func(n int) {
		for range n {
			it := NewItem("host-a", amqp.Publishing{MessageId: fmt.Sprintf("m-%03d", len(items)+1), Body: []byte("{}")})
			items = append(items, it)
			out.Push(it)
		}
	}
	push(first)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	for i, it := range items {
		select {
		case err := <-it.Done():
			if err != nil {
				t.Fatalf("message %d: %v", i+1, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("message %d not confirmed", i+1)
		}
	}
	if c := out.Counters(); c.Confirmed != first || c.Waiting != 0 {
		t.Fatalf("after %d confirms: %+v", first, c)
	}
	// Owed at shutdown: sent within DrainTimeout.
	push(second)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its drain")
	}
	if c := out.Counters(); c.Confirmed != first+second || c.Waiting != 0 {
		t.Fatalf("after the drain: %+v", c)
	}
	for i := range first + second {
		select {
		case d := <-deliveries:
			if want := fmt.Sprintf("m-%03d", i+1); d.MessageId != want || d.RoutingKey != "host-a" || d.UserId != "guest" {
				t.Fatalf("delivery %d: id %q key %q user_id %q; want %q, host-a, guest", i+1, d.MessageId, d.RoutingKey, d.UserId, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("delivery %d missing", i+1)
		}
	}
}
