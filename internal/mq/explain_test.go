package mq

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestExplain(t *testing.T) {
	refused := &amqp.Error{Code: amqp.AccessRefused, Reason: "ACCESS_REFUSED - access to queue 'q' in vhost '/' refused for user 'u'"}
	cases := []struct {
		err  error
		want []string
	}{
		{amqp.ErrCredentials, []string{"refused the user name or password"}},
		{fmt.Errorf("declare queue %q: %w", "q", refused), []string{`declare queue "q"`, "ACCESS_REFUSED - access to queue", "configure permission"}},
		{fmt.Errorf("bind queue %q to exchange %q: %w", "q", "x", refused), []string{"write permission on the queue and read permission on the exchange"}},
		{fmt.Errorf("consume from queue %q: %w", "q", refused), []string{"read permission on the queue"}},
		{fmt.Errorf("declare exchange %q (fanout): %w", "x", &amqp.Error{Code: amqp.PreconditionFailed, Reason: "PRECONDITION_FAILED - inequivalent arg 'type'"}),
			[]string{`declare exchange "x"`, "already exists with other settings"}},
		{&amqp.Error{Code: amqp.NotAllowed, Reason: "vhost nosuch not found"}, []string{"virtual host does not exist"}},
		{&amqp.Error{Code: 501, Reason: "remote error: tls: certificate required"}, []string{"RABBITMQ_CERT_FILE"}},
		{&amqp.Error{Code: 501, Reason: "tls: first record does not look like a TLS handshake"}, []string{"does not speak TLS"}},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), []string{"connection refused"}},
	}
	for _, c := range cases {
		got := Explain(c.err)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("Explain(%v) = %q, lacks %q", c.err, got, w)
			}
		}
	}
	if Explain(nil) != "" {
		t.Error("Explain(nil) is not empty")
	}
}

// TestUserIDRefusal: the broker closing the channel over user_id is
// explained with the key to fix, not as an exchange declared with other
// settings; other channel closes keep the general explanation.
func TestUserIDRefusal(t *testing.T) {
	e := &amqp.Error{Code: amqp.PreconditionFailed,
		Reason: "PRECONDITION_FAILED - user_id property set to 'sysmon-host-a' but authenticated user was 'sysmon-host-b'"}
	got := Explain(channelClosedErr(e, "sysmon-host-a"))
	for _, w := range []string{`refused the snapshots' user_id "sysmon-host-a"`, "authenticated user was 'sysmon-host-b'", "PUBLISH_USER_ID"} {
		if !strings.Contains(got, w) {
			t.Errorf("explained as %q, lacks %q", got, w)
		}
	}
	if strings.Contains(got, "other settings") {
		t.Errorf("explained as %q: a user_id refusal is not a redeclaration", got)
	}
	other := &amqp.Error{Code: amqp.PreconditionFailed, Reason: "PRECONDITION_FAILED - inequivalent arg 'type'"}
	if got := Explain(channelClosedErr(other, "u")); !strings.Contains(got, "other settings") || strings.Contains(got, "user_id") {
		t.Errorf("another PRECONDITION_FAILED explained as %q", got)
	}
}
