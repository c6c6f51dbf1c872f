package consumer

import (
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"golang.org/x/time/rate"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// Identity decides who may speak for a host. RabbitMQ checks a message's
// user_id property against the user of the connection that published it
// (only users tagged impersonator may set another), so with Required a
// host's snapshots are accepted only from the broker user UserPrefix+host.
type Identity struct {
	Required   bool
	UserPrefix string
}

// DefaultUserPrefix names per-host broker users: host web1 publishes as
// sysmon-host-web1, a name no other sysmon or administrator user has.
const DefaultUserPrefix = "sysmon-host-"

// MaxUserID is the longest user_id AMQP can carry (a short string): a host
// whose user name would be longer cannot be authenticated.
const MaxUserID = 255

// User is the broker user that host must publish as: the prefix and the
// host name exactly as the snapshot's "host" field spells it (same case,
// no escaping; RabbitMQ user names are case-sensitive and may hold any
// character a sysmon host name may hold).
func (id Identity) User(host string) string { return id.UserPrefix + host }

var (
	errNoHost   = errors.New("no host field (a prototype message): nothing says which host sent it")
	errNoUserID = errors.New("no user_id property (a publisher that does not stamp one, or PUBLISH_USER_ID=none)")
	errWrongID  = errors.New("user_id is not the host's broker user")
	errTooLong  = fmt.Errorf("HOST_USER_PREFIX and the host name are longer than an AMQP user_id (%d bytes)", MaxUserID)
)

// check accepts s, delivered with the user_id userID, when identity is not
// required or s comes from its host's broker user.
func (id Identity) check(s *snapshot.Snapshot, userID string) error {
	switch {
	case !id.Required:
		return nil
	case s.Host == "":
		return errNoHost
	case len(id.User(s.Host)) > MaxUserID:
		return errTooLong
	case userID == "":
		return errNoUserID
	case userID != id.User(s.Host):
		return errWrongID
	}
	return nil
}

// authentic says whether s, the decoding of d, may change its host's
// entry; what it refuses is counted, and logged once per host.
func (in *Ingest) authentic(s *snapshot.Snapshot, d *amqp.Delivery) bool {
	err := in.Identity.check(s, d.UserId)
	if err == nil {
		return true
	}
	n := in.unauthenticated.Add(1)
	host, _ := fleet.HostKey(s, d.RoutingKey)
	if in.refusedHosts.first(host) {
		in.log.Warn("refused a snapshot not published by its host's broker user (HOST_IDENTITY=broker-user; logged once per host; see unauthenticated_total in /api/status)",
			"err", err.Error(), "host", truncate(host, 64), "user_id", truncate(d.UserId, 64),
			"expected_user_id", truncate(in.Identity.User(host), 80), "unauthenticated_total", n)
	}
	return false
}

// maxLoggedHosts bounds the memory spent remembering which hosts were
// logged: beyond it (a flood of made-up names), one line a minute.
const maxLoggedHosts = 1024

// hostLog remembers the hosts already logged.
type hostLog struct {
	mu       sync.Mutex
	seen     map[string]struct{}
	overflow rate.Sometimes
}

// first reports whether host should be logged now: the first time it is
// seen, or once a minute for all hosts beyond maxLoggedHosts.
func (l *hostLog) first(host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[host]; ok {
		return false
	}
	if len(l.seen) < maxLoggedHosts {
		if l.seen == nil {
			l.seen = map[string]struct{}{}
		}
		l.seen[host] = struct{}{}
		return true
	}
	log := false
	l.overflow.Interval = time.Minute
	l.overflow.Do(func() { log = true })
	return log
}
