package mq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Queue is the consumer's queue and how it is bound.
type Queue struct {
	Name       string
	Durable    bool
	Exclusive  bool
	AutoDelete bool
	// Type is "classic" (or empty) or "quorum": replicated on a majority of
	// the cluster's nodes, so that the backlog survives the loss of one.
	Type string
	// MaxLength bounds the backlog (0: unbounded); beyond it the oldest
	// messages are dropped, so that a consumer that returns sees the newest.
	MaxLength int
	// Expires deletes the queue once it has had no consumer for that long
	// (0: never; whole milliseconds, so at least 1ms). An exclusive queue
	// goes with its connection and takes none.
	Expires    time.Duration
	BindingKey string
	Prefetch   int
}

// Args are the queue's arguments for the broker (x-queue-type,
// x-max-length, x-overflow, x-expires).
func (q Queue) Args() amqp.Table {
	args := amqp.Table{}
	if q.Type == "quorum" {
		args["x-queue-type"] = "quorum"
	}
	if q.MaxLength > 0 {
		args["x-max-length"] = int64(q.MaxLength)
		args["x-overflow"] = "drop-head"
	}
	if q.Expires > 0 && !q.Exclusive {
		args["x-expires"] = q.Expires.Milliseconds()
	}
	return args
}

// Consumer delivers every message of its queue to Handle and acknowledges it
// afterwards; unacknowledged messages (at most Prefetch) return to the queue
// if the consumer dies, and the backlog waits in the broker.
type Consumer struct {
	Dialer       *Dialer
	Exchange     string
	ExchangeType string
	Queue        Queue
	Tag          string
	Log          *slog.Logger
	// Handle takes a delivery; it must not block for long and never fails:
	// a message it cannot use is dropped (and counted) by Handle itself.
	Handle func(d *amqp.Delivery)
}

// Run consumes until ctx ends.
func (c *Consumer) Run(ctx context.Context) error {
	return c.Dialer.Run(ctx, c.session)
}

// errCancelled is a consumer cancelled by the broker (its queue was deleted).
var errCancelled = errors.New("the broker cancelled the consumer (queue deleted?); declaring it again")

func (c *Consumer) session(ctx context.Context, conn *amqp.Connection, ready func()) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	q := c.Queue
	if ch, err = declareExchange(conn, ch, c.Exchange, c.ExchangeType); err != nil {
		return err
	}
	if err := ch.Qos(q.Prefetch, 0, false); err != nil {
		return fmt.Errorf("set prefetch: %w", err)
	}
	if _, err := ch.QueueDeclare(q.Name, q.Durable, q.AutoDelete, q.Exclusive, false, q.Args()); err != nil {
		return fmt.Errorf("declare queue %q: %w", q.Name, err)
	}
	if err := ch.QueueBind(q.Name, q.BindingKey, c.Exchange, false, nil); err != nil {
		return fmt.Errorf("bind queue %q to exchange %q: %w", q.Name, c.Exchange, err)
	}
	deliveries, err := ch.Consume(q.Name, c.Tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume from queue %q: %w", q.Name, err)
	}
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	ready()
	c.Log.Info("consuming", "queue", q.Name, "exchange", c.Exchange, "durable", q.Durable, "exclusive", q.Exclusive)

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// Acks are sent for several deliveries at once (multiple=true): when
	// half the prefetch window is pending, or when the stream pauses.
	var last *amqp.Delivery
	pending := 0
	flushEvery := max(1, q.Prefetch/2)
	ackTimer := time.NewTimer(time.Hour)
	ackTimer.Stop()
	flush := func() error {
		if pending == 0 {
			return nil
		}
		pending = 0
		if err := last.Ack(true); err != nil {
			return fmt.Errorf("acknowledge: %w", err)
		}
		return nil
	}
	for {
		select {
		case d, ok := <-deliveries:
			if !ok {
				if err := flush(); err != nil {
					return err
				}
				// The stream ends with the connection, the channel, or a
				// cancel from the broker; tell them apart.
				select {
				case e := <-connClosed:
					return closedErr("connection", e)
				case e := <-chClosed:
					return closedErr("channel", e)
				case <-time.After(200 * time.Millisecond):
					return errCancelled
				}
			}
			c.Handle(&d)
			last = &d
			pending++
			if pending >= flushEvery {
				if err := flush(); err != nil {
					return err
				}
			} else if pending == 1 {
				ackTimer.Reset(10 * time.Millisecond)
			}
		case <-ackTimer.C:
			if err := flush(); err != nil {
				return err
			}
		case <-tick.C:
			c.Dialer.beat()
		case e := <-connClosed:
			return closedErr("connection", e)
		case e := <-chClosed:
			return closedErr("channel", e)
		case <-ctx.Done():
			return flush()
		}
	}
}
