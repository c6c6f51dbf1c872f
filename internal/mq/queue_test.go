package mq

import (
	"maps"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestQueueArgs: the broker's arguments come from the queue's plain
// settings, and only the ones that apply.
func TestQueueArgs(t *testing.T) {
	for _, c := range []struct {
		name string
		q    Queue
		want amqp.Table
	}{
		{"unbounded classic, never expires", Queue{Durable: true}, amqp.Table{}},
		{"the consumer's defaults", Queue{Durable: true, Type: "classic", MaxLength: 100_000, Expires: 7 * 24 * time.Hour},
			amqp.Table{"x-max-length": int64(100_000), "x-overflow": "drop-head", "x-expires": int64(7 * 24 * 3600 * 1000)}},
		{"quorum", Queue{Durable: true, Type: "quorum", MaxLength: 5, Expires: 1500 * time.Millisecond},
			amqp.Table{"x-queue-type": "quorum", "x-max-length": int64(5), "x-overflow": "drop-head", "x-expires": int64(1500)}},
		{"exclusive: goes with its connection, no expiry", Queue{Exclusive: true, AutoDelete: true, Expires: time.Hour},
			amqp.Table{}},
	} {
		if got := c.q.Args(); !maps.EqualFunc(got, c.want, func(a, b any) bool { return a == b }) {
			t.Errorf("%s: Args() = %v, want %v", c.name, got, c.want)
		}
	}
}
