package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// sharedCtl runs rabbitmqctl against the shared broker.
func sharedCtl(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("rabbitmqctl", append([]string{"-q"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// rawClient is a test's own AMQP connection as one broker user, publishing
// with confirms and watching for the broker closing its channel.
type rawClient struct {
	ch     *amqp.Channel
	closed chan *amqp.Error
}

func dialRaw(t *testing.T, url string) *rawClient {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	return &rawClient{ch: ch, closed: ch.NotifyClose(make(chan *amqp.Error, 1))}
}

// publish sends body with userID and waits for the broker's confirm.
func (c *rawClient) publish(t *testing.T, exchange, key, userID string, body []byte) {
	t.Helper()
	dc, err := c.ch.PublishWithDeferredConfirm(exchange, key, false, false, amqp.Publishing{Body: body, UserId: userID})
	if err != nil {
		t.Fatal(err)
	}
	if !dc.Wait() {
		t.Fatalf("the broker did not confirm a message with user_id %q", userID)
	}
}

func identitySnapshot(t *testing.T, host, platform string, seq uint64) []byte {
	t.Helper()
	now := time.Now()
	b, err := snapshot.Encode(&snapshot.Snapshot{Timestamp: now.Format(time.RFC3339), CPUPercent: 5,
		Memory: snapshot.Memory{Total: 1 << 30, Percent: 10}, Platform: platform, Host: host,
		InstanceID: "raw-" + host + "-" + platform, Seq: seq, Time: &now, IntervalSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProdAuthenticatedHosts: with HOST_IDENTITY=broker-user a host's
// entry changes only through the host's own broker user. Two per-host
// users are created as README says, with write permission on the exchange
// only, in a vhost of their own. Host A's genuine snapshots show; user B
// claiming host A (with its own user_id, or none) is refused and counted;
// a user_id forged by B is refused by the broker itself, and a publisher
// configured that way says so; prototype messages are refused.
func TestProdAuthenticatedHosts(t *testing.T) {
	brokertest.Shared(t)
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		brokertest.Unavailable(t, "rabbitmqctl is not installed")
	}
	if os.Geteuid() != 0 {
		brokertest.Unavailable(t, "rabbitmqctl on the shared broker needs root (its Erlang cookie)")
	}
	faultTest(t)
	start := time.Now()
	suffix := fmt.Sprintf("%08x", rand.Uint32())
	vhost := "sysmon-e2e-identity-" + suffix
	hostA, hostB := "ida-"+suffix, "idb-"+suffix
	userA, userB := "sysmon-host-"+hostA, "sysmon-host-"+hostB
	const password = "host-Secret-77e1"
	exchange := "sysmon-e2e-identity"

	sharedCtl(t, "add_vhost", vhost)
	t.Cleanup(func() { sharedCtl(t, "delete_vhost", vhost) }) // takes exchange, queues and permissions with it
	sharedCtl(t, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
	for _, u := range []string{userA, userB} {
		sharedCtl(t, "add_user", u, password)
		t.Cleanup(func() { sharedCtl(t, "delete_user", u) })
		sharedCtl(t, "set_permissions", "-p", vhost, u, "^$", "^"+exchange+"$", "^$")
	}
	url := func(user, pass string) string {
		return fmt.Sprintf("amqp://%s:%s@127.0.0.1:5672/%s", user, pass, vhost)
	}

	// The consumer (as guest) declares the exchange before any host publishes.
	cons := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url("guest", "guest"), "EXCHANGE_NAME": exchange,
		"QUEUE_NAME": "sysmon-consumer.identity", "HOST_IDENTITY": "broker-user"})
	cons.WaitReady(t, 20*time.Second)
	ws := DialWS(t, cons)
	passFile := writeFile(t, "host-password", []byte(password+"\n"))

	// Host A's genuine snapshots: the publisher stamps its login as user_id.
	pubA := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": fmt.Sprintf("amqp://%s@127.0.0.1:5672/%s", userA, vhost),
		"RABBITMQ_PASSWORD_FILE": passFile, "EXCHANGE_NAME": exchange, "HOST_NAME": hostA, "PUBLISH_INTERVAL": "0"})
	pubA.WaitReady(t, 20*time.Second)
	publishOne(t, pubA, ws)
	if e := ws.Updates()[0]; e.Host != hostA || e.Legacy {
		t.Fatalf("host A's first snapshot shows as %+v", e)
	}

	// User B speaks for host A: with its own (true) user_id, and with none.
	// Then a prototype message, with host A's own user and key. Then B's
	// genuine snapshot, which is accepted, and orders the check below
	// after the three refusals (one queue, one consumer).
	b := dialRaw(t, url(userB, password))
	b.publish(t, exchange, hostA, userB, identitySnapshot(t, hostA, "FORGED-by-B", 1))
	b.publish(t, exchange, hostA, "", identitySnapshot(t, hostA, "FORGED-no-user-id", 1))
	prototype, err := os.ReadFile(filepath.Join("..", "internal", "snapshot", "testdata", "prototype-snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	dialRaw(t, url(userA, password)).publish(t, exchange, hostA, userA, prototype)
	b.publish(t, exchange, hostB, userB, identitySnapshot(t, hostB, "genuine-B", 1))
	ws.WaitUpdate(t, 10*time.Second, "host B's own snapshot", func(e Entry) bool { return e.Host == hostB })

	// B forging user_id: the broker closes B's channel; nothing arrives.
	_, err = b.ch.PublishWithDeferredConfirm(exchange, hostA, false, false,
		amqp.Publishing{Body: identitySnapshot(t, hostA, "FORGED-user-id", 2), UserId: userA})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-b.closed:
		if e == nil || e.Code != amqp.PreconditionFailed || !strings.Contains(e.Reason, "user_id") {
			t.Fatalf("a forged user_id closed the channel with %v, want PRECONDITION_FAILED about user_id", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the broker accepted a message whose user_id is another user's")
	}
	// A publisher configured to forge it explains why nothing goes out.
	forger := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": url(userB, password), "EXCHANGE_NAME": exchange,
		"HOST_NAME": hostA, "PUBLISH_USER_ID": userA, "PUBLISH_INTERVAL": "0", "RECONNECT_MAX_DELAY": "1s"})
	forger.WaitReady(t, 20*time.Second)
	publish(t, forger, http.MethodPost)
	// (slog's text format escapes the quotes around the user name.)
	forger.WaitLog(t, `the broker refused the snapshots' user_id \"`+userA+`\"`, 1, 20*time.Second)
	// Its status (GET /, the systemd status line) says so between attempts.
	waitFor(t, 20*time.Second, "the refusal in the forging publisher's status", func() bool {
		_, st := forger.Get(t, "/")
		return strings.Contains(string(st), "refused the snapshots' user_id")
	})
	forger.Stop(t)

	// Host A still speaks, and its entry was never changed by anyone else.
	publishOne(t, pubA, ws)
	for _, e := range ws.Updates() {
		if e.Host == hostA && strings.Contains(string(e.Snapshot), "FORGED") || e.Legacy {
			t.Errorf("the dashboard showed a refused message: %+v", e)
		}
	}
	var hosts struct {
		Hosts []struct {
			Host string `json:"host"`
		} `json:"hosts"`
	}
	cons.GetJSON(t, "/api/hosts", &hosts)
	if len(hosts.Hosts) != 2 {
		t.Errorf("/api/hosts = %+v, want hosts A and B only", hosts)
	}
	code, body := cons.Get(t, "/api/hosts/"+hostA)
	if code != http.StatusOK || strings.Contains(string(body), "FORGED") || strings.Contains(string(body), "2026-11-27T03:12:27.663874") {
		t.Errorf("/api/hosts/%s: %d %s", hostA, code, body)
	}
	var st struct {
		Messages struct {
			Unauthenticated uint64 `json:"unauthenticated_total"`
		} `json:"messages"`
	}
	cons.GetJSON(t, "/api/status", &st)
	if st.Messages.Unauthenticated != 3 {
		t.Errorf("unauthenticated_total = %d, want 3 (B as A twice, the prototype message)", st.Messages.Unauthenticated)
	}
	if _, m := cons.Get(t, "/metrics"); !strings.Contains(string(m), "\nsysmon_consumer_snapshots_unauthenticated_total 3\n") {
		t.Errorf("/metrics does not count the 3 refusals:\n%s", m)
	}
	// Logged once for host A, naming the user it expected.
	if n := strings.Count(cons.Output(), "not published by its host's broker user"); n != 1 ||
		!strings.Contains(cons.Output(), "expected_user_id="+userA) {
		t.Errorf("%d refusal log lines, want 1 naming %s:\n%s", n, userA, cons.Output())
	}
	if code, _ := cons.Stop(t); code != 0 {
		t.Fatalf("consumer exit %d", code)
	}
	record(t, faultRow{Fault: "16. HOST_IDENTITY=broker-user: broker user B speaks for host A, forges user_id, sends a prototype message",
		Recovery: "refused at once", Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1,
		Note: fmt.Sprintf("unauthenticated_total=%d (B as A with its own user_id and with none, the prototype message), 1 log line naming the user expected; forged user_id: channel closed by the broker (PRECONDITION_FAILED), the publisher explains it in its log and GET /; A's entry never changed; %s in all",
			st.Messages.Unauthenticated, secs(time.Since(start)))})
}
