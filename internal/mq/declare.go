package mq

import (
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// declareExchange declares the exchange, or, for a least-privilege broker
// user without the configure permission (ACCESS_REFUSED, which closes the
// channel), checks on a fresh channel that an administrator declared it.
// It returns the channel to go on with.
func declareExchange(conn *amqp.Connection, ch *amqp.Channel, name, kind string) (*amqp.Channel, error) {
	err := ch.ExchangeDeclare(name, kind, true, false, false, false, nil)
	if err == nil {
		return ch, nil
	}
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.AccessRefused {
		return nil, fmt.Errorf("declare exchange %q (%s): %w", name, kind, err)
	}
	ch, cerr := conn.Channel()
	if cerr != nil {
		return nil, fmt.Errorf("open channel: %w", cerr)
	}
	if perr := ch.ExchangeDeclarePassive(name, kind, true, false, false, false, nil); perr != nil {
		return nil, fmt.Errorf("the broker user may not declare exchange %q (%v) and it does not exist yet: %w", name, err, perr)
	}
	return ch, nil
}
