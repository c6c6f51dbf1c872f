package consumer

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

func hostBody(t *testing.T, host string, seq uint64) []byte {
	t.Helper()
	now := time.Now()
	b, err := snapshot.Encode(&snapshot.Snapshot{Timestamp: "t", CPUPercent: 5, Memory: snapshot.Memory{Total: 1, Percent: 10},
		Host: host, InstanceID: "i-" + host, Seq: seq, Time: &now, IntervalSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIdentityRequired: with HOST_IDENTITY=broker-user only a host's own
// broker user changes its entry; anything else, prototype messages
// included, is dropped, counted and logged once. Without it, everything
// valid is filed as before.
func TestIdentityRequired(t *testing.T) {
	prototype, err := os.ReadFile(filepath.Join("..", "snapshot", "testdata", "prototype-snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	type msg struct {
		why          string
		body         []byte
		userID, key  string
		acceptedAuth bool
	}
	msgs := []msg{
		{"the host's own user", hostBody(t, "web1", 1), "sysmon-host-web1", "web1", true},
		{"another host's user", hostBody(t, "web1", 2), "sysmon-host-web2", "web1", false},
		{"no user_id", hostBody(t, "web1", 3), "", "web1", false},
		{"the bare host name", hostBody(t, "web1", 4), "web1", "web1", false},
		{"the prefix only", hostBody(t, "web1", 5), "sysmon-host-", "web1", false},
		{"a prototype message", prototype, "sysmon-host-web1", "web1", false},
		{"a prototype message without key", prototype, "", "", false},
	}
	for _, required := range []bool{false, true} {
		var logs bytes.Buffer
		f := fleet.New(fleet.Config{HistorySize: 5, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
		in := NewIngest(f, 1<<20, slog.New(slog.NewTextHandler(&logs, nil)))
		in.Identity = Identity{Required: required, UserPrefix: DefaultUserPrefix}
		var refused uint64
		for _, m := range msgs {
			before := f.Counts(time.Now()).Accepted
			in.Handle(&amqp.Delivery{Body: m.body, UserId: m.userID, RoutingKey: m.key})
			accepted := f.Counts(time.Now()).Accepted > before
			if want := !required || m.acceptedAuth; accepted != want {
				t.Errorf("required=%v, %s: accepted=%v, want %v", required, m.why, accepted, want)
			}
			if !accepted {
				refused++
			}
		}
		if got := in.Stats().Unauthenticated; got != refused {
			t.Errorf("required=%v: unauthenticated_total=%d, want %d", required, got, refused)
		}
		// Once per host: web1 (five refusals) and "prototype" (the
		// prototype's name for a message without routing key).
		lines := strings.Count(logs.String(), "not published by its host's broker user")
		if want := map[bool]int{false: 0, true: 2}[required]; lines != want {
			t.Errorf("required=%v: %d log lines, want %d:\n%s", required, lines, want, logs.String())
		}
		if required && (!strings.Contains(logs.String(), "host=web1") || !strings.Contains(logs.String(), "host=prototype")) {
			t.Errorf("the log does not name both refused hosts:\n%s", logs.String())
		}
	}
}

// TestUserNameRule: the broker user is the prefix and the host name as
// the snapshot spells it, byte for byte; a name AMQP cannot carry as
// user_id is refused with a reason, whatever user_id says.
func TestUserNameRule(t *testing.T) {
	snap := func(host string) *snapshot.Snapshot { return &snapshot.Snapshot{Host: host} }
	id := Identity{Required: true, UserPrefix: DefaultUserPrefix}
	long := strings.Repeat("h", MaxUserID-len(DefaultUserPrefix))
	for _, tc := range []struct {
		host, userID string
		want         error
	}{
		{"web1", "sysmon-host-web1", nil},
		{"Web1", "sysmon-host-web1", errWrongID}, // broker user names are case-sensitive
		{"web1.example.com", "sysmon-host-web1.example.com", nil},
		{"web1.example.com", "sysmon-host-web1", errWrongID},
		{"db 1/ü", "sysmon-host-db 1/ü", nil},
		{"web1", "sysmon-host-web1 ", errWrongID},
		{long, "sysmon-host-" + long, nil},
		{long + "h", "sysmon-host-" + long + "h", errTooLong},
		{"", "sysmon-host-", errNoHost},
		{"web1", "", errNoUserID},
	} {
		if got := id.check(snap(tc.host), tc.userID); got != tc.want {
			t.Errorf("host %.20q, user_id %.30q: %v, want %v", tc.host, tc.userID, got, tc.want)
		}
	}
	bare := Identity{Required: true}
	if err := bare.check(snap("web1"), "web1"); err != nil || bare.User("web1") != "web1" {
		t.Errorf("empty prefix: user %q, check %v", bare.User("web1"), err)
	}
	if err := (Identity{}).check(snap(""), ""); err != nil {
		t.Errorf("identity not required: %v", err)
	}
}

// TestHostLogIsBounded: each host is logged once, and a flood of made-up
// names costs at most maxLoggedHosts entries and one line a minute.
func TestHostLogIsBounded(t *testing.T) {
	var l hostLog
	if !l.first("a") || l.first("a") {
		t.Fatal("a host must be logged the first time only")
	}
	logged := 1
	for i := range 3 * maxLoggedHosts {
		if l.first(fmt.Sprint("h", i)) {
			logged++
		}
	}
	if len(l.seen) != maxLoggedHosts || logged != maxLoggedHosts+1 {
		t.Fatalf("remembered %d hosts, logged %d, want %d and %d", len(l.seen), logged, maxLoggedHosts, maxLoggedHosts+1)
	}
}

func TestIdentityConfig(t *testing.T) {
	c, err := loadText(t, "")
	if err != nil || c.Identity.Required {
		t.Fatalf("default: %+v %v", c.Identity, err)
	}
	c, err = loadText(t, "HOST_IDENTITY=broker-user\n")
	if err != nil || !c.Identity.Required || c.Identity.User("web1") != "sysmon-host-web1" {
		t.Fatalf("broker-user: %+v %v", c.Identity, err)
	}
	c, err = loadText(t, "HOST_IDENTITY=broker-user\nHOST_USER_PREFIX=\n")
	if err != nil || c.Identity.User("web1") != "web1" {
		t.Fatalf("empty prefix: %+v %v", c.Identity, err)
	}
	if _, err = loadText(t, "HOST_IDENTITY=yes\n"); err == nil || !strings.Contains(err.Error(), "c.env:1: HOST_IDENTITY") {
		t.Fatalf("bad value: %v", err)
	}
	if _, err = loadText(t, "HOST_USER_PREFIX=mon-\n"); err == nil || !strings.Contains(err.Error(), "c.env:1: HOST_USER_PREFIX") {
		t.Fatalf("prefix without the mode: %v", err)
	}
	if _, err = loadText(t, "HOST_IDENTITY=broker-user\nHOST_USER_PREFIX="+strings.Repeat("p", MaxUserID)+"\n"); err == nil ||
		!strings.Contains(err.Error(), "c.env:2: HOST_USER_PREFIX") {
		t.Fatalf("prefix too long for any user_id: %v", err)
	}
}
