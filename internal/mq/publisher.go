package mq

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Publisher drains an Outbox into an exchange, in order, with up to Window
// messages published and not yet confirmed (one by default: each confirmed
// before the next). A message is removed only once the broker has it: after a
// reconnect or a nack every message not confirmed goes again, in order (so a
// receiver may get a copy; the message id lets it drop that).
type Publisher struct {
	Dialer       *Dialer
	Exchange     string
	ExchangeType string
	Outbox       *Outbox
	Log          *slog.Logger
	// DrainTimeout bounds how long Run keeps publishing what is owed after
	// its context ends (the goodbye message, typically).
	DrainTimeout time.Duration
	// UserID is stamped on every message as the AMQP user_id property,
	// which the broker checks against the connection's user (a consumer
	// with HOST_IDENTITY=broker-user relies on it). Empty: the user name
	// the connection logged in with (none with EXTERNAL login, whose user
	// the broker derives from the certificate). NoUserID: never set it.
	UserID   string
	NoUserID bool
	// BeatEvery is how often the loop beats the Dialer's watchdog while
	// nothing is sent (it beats at each message too); 0: only at each
	// message, for a process without a watchdog, which then has no timer
	// of its own here to wake it.
	BeatEvery time.Duration
	// Window is how many messages may wait for their confirm at once (at
	// most the outbox's limit - 1); 0 or 1: one. More keeps a broker that
	// confirms slowly (a persistent message once it is on disk) busy.
	Window int
}

// sent is a published message and its confirm.
type sent struct {
	it *Item
	dc *amqp.DeferredConfirmation
}

// Run publishes until ctx ends, then drains for up to DrainTimeout.
func (p *Publisher) Run(ctx context.Context) error {
	return p.Dialer.Run(ctx, p.session)
}

func (p *Publisher) session(ctx context.Context, conn *amqp.Connection, ready func()) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if ch, err = declareExchange(conn, ch, p.Exchange, p.ExchangeType); err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("enable publisher confirms: %w", err)
	}
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	userID := p.userID(conn)
	chErr := func(e *amqp.Error) error { return channelClosedErr(e, userID) }
	ready()
	defer func() {
		// amqp091 blocks if a notification channel is not read: drain them
		// until the connection's close closes them.
		go func() {
			for range blocked {
			}
		}()
	}()

	// After ctx ends, keep going until the outbox is empty or the drain
	// deadline passes.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	stopDrain := context.AfterFunc(ctx, func() { time.AfterFunc(p.DrainTimeout, cancelHard) })
	defer stopDrain()

	var tick <-chan time.Time
	if p.BeatEvery > 0 {
		t := time.NewTicker(p.BeatEvery)
		defer t.Stop()
		tick = t.C
	}
	status := p.Dialer.Status

	// What the last session published and did not see confirmed goes again.
	p.Outbox.resend()
	window := max(p.Window, 1)
	var flight []sent // oldest first
	for {
		p.beat()
		if len(flight) < window {
			if it := p.Outbox.next(); it != nil {
				it.Msg.Timestamp = time.Now()
				it.Msg.UserId = userID
				dc, err := ch.PublishWithDeferredConfirmWithContext(hard, p.Exchange, it.Key, false, false, it.Msg)
				if err != nil {
					if hard.Err() != nil {
						return nil
					}
					return fmt.Errorf("publish: %w", err)
				}
				flight = append(flight, sent{it, dc})
				continue
			}
		}
		if len(flight) == 0 {
			// Nothing owed.
			if ctx.Err() != nil {
				return nil
			}
			select {
			case <-ctx.Done():
			case <-p.Outbox.Ready():
			case <-tick:
			case e := <-connClosed:
				return closedErr("connection", e)
			case e := <-chClosed:
				return chErr(e)
			case b := <-blocked:
				p.onBlocked(status, b)
			}
			continue
		}
		var more <-chan struct{} // room in the window: wake for a new message too
		if len(flight) < window {
			more = p.Outbox.Ready()
		}
		select {
		case <-flight[0].dc.Done():
			head := flight[0]
			if head.dc.Acked() {
				flight[0] = sent{}
				flight = flight[1:]
				p.Outbox.ack(head.it)
				continue
			}
			// A channel closed by the broker nacks what was in flight:
			// report why it closed, not a nack.
			select {
			case e := <-chClosed:
				return chErr(e)
			case e := <-connClosed:
				return closedErr("connection", e)
			default:
			}
			// A nack means the broker could not take it (an internal
			// error): keep it and send it, and all published after it,
			// again shortly (their confirms are not waited for).
			p.Log.Warn("broker rejected a message; retrying", "key", head.it.Key, "in_flight", len(flight))
			flight = nil
			p.Outbox.resend()
			select {
			case <-time.After(time.Second):
			case <-hard.Done():
				return nil
			}
		case <-more:
		case <-hard.Done():
			return nil
		case e := <-connClosed:
			return closedErr("connection", e)
		case e := <-chClosed:
			return chErr(e)
		case b := <-blocked:
			p.onBlocked(status, b)
		case <-tick:
			// Waiting for a confirm under a resource alarm is healthy.
			p.beat()
		}
	}
}

// userID is the user_id to stamp on messages sent over conn.
func (p *Publisher) userID(conn *amqp.Connection) string {
	switch {
	case p.NoUserID:
		return ""
	case p.UserID != "":
		return p.UserID
	}
	// After the handshake SASL holds the one mechanism used.
	var name string
	for _, a := range conn.Config.SASL {
		switch a := a.(type) {
		case *amqp.PlainAuth:
			name = a.Username
		case *amqp.AMQPlainAuth:
			name = a.Username
		}
	}
	if len(name) > 255 {
		// user_id is a short string: stamping it would make every publish
		// fail; without it only a consumer that requires it refuses (and
		// says so).
		return ""
	}
	return name
}

func (p *Publisher) beat() { p.Dialer.beat() }

func (p *Publisher) onBlocked(s *Status, b amqp.Blocking) {
	if b.Active {
		p.Log.Warn("broker blocked publishing; snapshots wait in the outbox", "reason", b.Reason)
		s.set(Blocked, "", "resource alarm: "+b.Reason)
		return
	}
	p.Log.Info("broker unblocked publishing")
	s.set(Connected, "", "")
}

// channelClosedErr says why the broker closed the publishing channel; a
// refused user_id says how to fix it.
func channelClosedErr(e *amqp.Error, userID string) error {
	if e != nil && e.Code == amqp.PreconditionFailed && strings.Contains(e.Reason, "user_id") {
		// Not wrapped: Explain's generic PRECONDITION_FAILED hint (an
		// exchange declared with other settings) would mislead.
		return fmt.Errorf("the broker refused the snapshots' user_id %q (%s): set PUBLISH_USER_ID to the user the broker authenticates this host as, or PUBLISH_USER_ID=none",
			userID, e.Reason)
	}
	return closedErr("channel", e)
}

func closedErr(what string, e *amqp.Error) error {
	if e == nil {
		return fmt.Errorf("%s closed", what)
	}
	return fmt.Errorf("%s closed by broker: %w", what, e)
}
