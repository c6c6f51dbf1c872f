package mq

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DialConfig is how to reach the brokers.
type DialConfig struct {
	URLs []string // tried in turn from a random one; they carry credentials
	// Shown are the same URLs, in the same order, without their passwords:
	// what the log and the status name. A URL without one is shown by its
	// position in the list.
	Shown     []string
	Heartbeat time.Duration
	MaxDelay  time.Duration // backoff cap
	TLS       *tls.Config   // for amqps:// URLs; nil means the system roots
}

// Dialer keeps one connection to the first broker of a list that answers.
type Dialer struct {
	URLs      []string
	Shown     []string // see DialConfig
	Heartbeat time.Duration
	MaxDelay  time.Duration // backoff cap
	Name      string        // connection name shown in the management UI
	TLS       *tls.Config   // for amqps:// URLs; nil means the system roots
	Log       *slog.Logger
	Status    *Status
	// Beat is called at least every second while the connection loop and
	// its sessions are healthy (waiting out a backoff is healthy).
	Beat func()

	next     int // index of the next URL to try
	failures int
	lastLog  string
	// announced: "connected" was logged at info since the last new
	// failure, so a session that keeps failing the same way right after
	// connecting (a refused user_id, say) costs one warning, not two lines
	// per retry.
	announced bool
}

// NewDialer spreads first connections across the list: each process starts
// at a random broker.
func NewDialer(c DialConfig, name string, log *slog.Logger, status *Status) *Dialer {
	return &Dialer{URLs: c.URLs, Shown: c.Shown, Heartbeat: c.Heartbeat, MaxDelay: c.MaxDelay, Name: name, TLS: c.TLS,
		Log: log, Status: status, next: rand.IntN(max(len(c.URLs), 1))}
}

// shown names the i-th broker without its credentials.
func (d *Dialer) shown(i int) string {
	if i < len(d.Shown) && d.Shown[i] != "" {
		return d.Shown[i]
	}
	return fmt.Sprintf("broker %d of %d", i+1, len(d.URLs))
}

// Session uses a connection until it fails or ctx ends. It calls ready once
// its exchange, queue and channel are set up: only then is the daemon
// connected as far as its status and /readyz are concerned. It returns nil
// only when ctx has ended and the session has finished its work.
type Session func(ctx context.Context, conn *amqp.Connection, ready func()) error

// healthyAfter is how long a session must last for the next reconnect to
// start again without delay: a session that fails at once (a refused exchange
// declaration, say) must not turn into a busy loop.
const healthyAfter = 30 * time.Second

// Run connects and runs session until ctx ends, reconnecting with backoff.
// It returns nil when ctx ends.
func (d *Dialer) Run(ctx context.Context, session Session) error {
	for {
		conn, i, err := d.connect(ctx)
		if err != nil {
			return nil // ctx ended
		}
		start := time.Now()
		err = session(ctx, conn, func() {
			d.Status.setConnected(d.shown(i))
			if d.announced {
				d.Log.Debug("connected to broker", "broker", d.shown(i))
			} else {
				d.Log.Info("connected to broker", "broker", d.shown(i))
				d.announced = true
			}
		})
		closeConn(conn)
		if ctx.Err() != nil {
			return nil
		}
		healthy := time.Since(start) >= healthyAfter
		if healthy {
			d.failures = 0
			d.lastLog = "" // a new episode: its failure is news even if it reads the same
		} else {
			d.failures++
		}
		d.Status.set(Disconnected, "", Explain(err))
		// After a session that failed at once, the next "connected" is no
		// news: the warning stays the last word until something changes.
		d.logFailure("broker connection ended", d.shown(i), err, healthy)
		d.next++ // fail over to the next broker of the list
	}
}

// connect dials until a broker answers or ctx ends.
func (d *Dialer) connect(ctx context.Context) (*amqp.Connection, int, error) {
	for {
		if d.failures > 0 {
			wait := d.backoff()
			d.Log.Debug("waiting before reconnecting", "delay", wait.Round(time.Millisecond))
			if err := d.sleep(ctx, wait); err != nil {
				return nil, 0, err
			}
		}
		i := d.next % len(d.URLs)
		d.beat()
		conn, err := d.dial(ctx, d.URLs[i])
		if err == nil {
			return conn, i, nil
		}
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		d.failures++
		d.next++
		d.Status.set(Disconnected, "", Explain(err))
		d.logFailure("cannot connect to broker", d.shown(i), err, true)
	}
}

// sleep waits for d, beating every second.
func (d *Dialer) sleep(ctx context.Context, wait time.Duration) error {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		d.beat()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return nil
		case <-tick.C:
		}
	}
}

func (d *Dialer) beat() {
	if d.Beat != nil {
		d.Beat()
	}
}

// dial connects with a timeout that ctx can cut short.
func (d *Dialer) dial(ctx context.Context, url string) (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(d.Name)
	var tlsCfg *tls.Config
	if d.TLS != nil {
		// amqp091 writes the URL's host into ServerName when it is empty:
		// each dial gets its own copy, or broker 2 would be checked
		// against broker 1's name.
		tlsCfg = d.TLS.Clone()
	}
	cfg := amqp.Config{
		Heartbeat:       d.Heartbeat,
		Properties:      props,
		TLSClientConfig: tlsCfg,
		Dial: func(network, addr string) (net.Conn, error) {
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			var nd net.Dialer
			c, err := nd.DialContext(dctx, network, addr)
			if err != nil {
				return nil, err
			}
			// amqp091 takes the connection's deadline as the handshake timeout.
			if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		},
	}
	return amqp.DialConfig(url, cfg)
}

// backoff grows exponentially from 250 ms to MaxDelay, with jitter in
// [d/2, d] so that a fleet does not reconnect in lockstep.
func (d *Dialer) backoff() time.Duration {
	delay := 250 * time.Millisecond
	for i := 1; i < d.failures && delay < d.MaxDelay; i++ {
		delay *= 2
	}
	delay = min(delay, d.MaxDelay)
	return delay/2 + rand.N(delay/2+1)
}

// logFailure logs a failure once while it stays the same, so that a broker
// down for an hour costs one warning line, not one per retry. reannounce:
// the next successful connection is logged at info again.
func (d *Dialer) logFailure(msg, broker string, err error, reannounce bool) {
	text := Explain(err)
	if text == d.lastLog {
		d.Log.Debug(msg, "broker", broker, "err", text, "attempt", d.failures)
		return
	}
	d.lastLog = text
	if reannounce {
		d.announced = false
	}
	d.Log.Warn(msg+"; retrying with backoff", "broker", broker, "err", text, "max_delay", d.MaxDelay)
}

func closeConn(conn *amqp.Connection) {
	// A blocked broker may never read the close frame: do not wait for it.
	_ = conn.CloseDeadline(time.Now().Add(time.Second))
}

// Explain turns errors into what an operator should check: the error's own
// text (which names the operation and the object) and, where we know it, a
// hint. The texts carry no credentials.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	text := err.Error()
	var ae *amqp.Error
	if errors.As(err, &ae) {
		switch {
		case ae.Code == amqp.AccessRefused && (ae == amqp.ErrCredentials ||
			strings.Contains(ae.Reason, "Login was refused") || strings.Contains(ae.Reason, "username or password")):
			return "the broker refused the user name or password (ACCESS_REFUSED)"
		case ae.Code == amqp.AccessRefused:
			return text + "; " + permissionHint(text)
		case ae.Code == amqp.NotAllowed:
			return fmt.Sprintf("the virtual host does not exist or the user may not use it (%s)", ae.Reason)
		case ae.Code == amqp.PreconditionFailed:
			return text + "; an exchange or queue already exists with other settings: delete it or change the configuration"
		case strings.Contains(ae.Reason, "certificate required"):
			return text + "; the broker requires a client certificate it trusts: set RABBITMQ_CERT_FILE and RABBITMQ_KEY_FILE"
		case strings.Contains(ae.Reason, "first record does not look like a TLS handshake"):
			return text + "; this port does not speak TLS (amqps:// to a plain AMQP port? TLS is usually 5671)"
		}
	}
	var unknownCA x509.UnknownAuthorityError
	if errors.As(err, &unknownCA) {
		return "TLS: the broker's certificate is not signed by a trusted CA (check RABBITMQ_CA_FILE): " + err.Error()
	}
	var hostErr x509.HostnameError
	if errors.As(err, &hostErr) {
		return "TLS: the broker's certificate is not valid for the host name connected to (check the URL or RABBITMQ_TLS_SERVER_NAME): " + err.Error()
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return "TLS: the broker's certificate was rejected: " + err.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && errors.Is(err, os.ErrDeadlineExceeded) {
		return "timed out: " + text
	}
	return text
}

// permissionHint says which permission an ACCESS_REFUSED operation needs:
// RabbitMQ names the object, not the permission.
func permissionHint(text string) string {
	switch {
	case strings.Contains(text, "declare queue"):
		return "the broker user needs the configure permission on the queue"
	case strings.Contains(text, "bind queue"):
		return "binding needs write permission on the queue and read permission on the exchange"
	case strings.Contains(text, "consume from queue"):
		return "consuming needs read permission on the queue"
	case strings.Contains(text, "publish"):
		return "publishing needs write permission on the exchange"
	}
	return "check the broker user's permissions (rabbitmqctl list_user_permissions USER)"
}
