package notify

import (
	"context"
	"fmt"
	"net"

	"github.com/wneessen/go-mail"

	"github.com/sysmon-dev/sysmon/internal/alert"
)

// Email sends each notification as a plain-text mail over SMTP, with
// go-mail (a maintained client: STARTTLS, implicit TLS, SMTP AUTH).
type Email struct {
	Host     string
	Port     int
	TLS      string // "starttls" (required), "tls" (implicit, port 465), "none" (a local relay)
	User     string
	Password string
	From     string
	To       []string
}

// Name is "email".
func (e *Email) Name() string { return "email" }

// Send mails n to every recipient.
func (e *Email) Send(ctx context.Context, n *alert.Notification) error {
	m := mail.NewMsg()
	if err := m.From(e.From); err != nil {
		return fmt.Errorf("ALERT_EMAIL_FROM: %w", err)
	}
	if err := m.To(e.To...); err != nil {
		return fmt.Errorf("ALERT_EMAIL_TO: %w", err)
	}
	m.Subject(n.Title())
	m.SetDate()
	m.SetMessageID()
	m.SetGenHeader("X-Sysmon-Notification", n.ID)
	m.SetBodyString(mail.TypeTextPlain, n.Text())
	opts := []mail.Option{mail.WithPort(e.Port)}
	switch e.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if e.User != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(e.User), mail.WithPassword(e.Password))
	}
	if e.TLS != "tls" {
		// go-mail v0.8.1 leaves the connection open when the server lacks
		// STARTTLS or refuses the login: close whatever was dialled once
		// done. (Not with implicit TLS: go-mail then dials TLS itself,
		// and knows the connection is encrypted only if it did.)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		var d net.Dialer
		opts = append(opts, mail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err == nil {
				conns = append(conns, c)
			}
			return c, err
		}))
	}
	c, err := mail.NewClient(e.Host, opts...)
	if err != nil {
		return fmt.Errorf("SMTP client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("send mail via %s:%d: %w", e.Host, e.Port, err)
	}
	return nil
}
