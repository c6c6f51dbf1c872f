package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// TestProdLeastPrivilegeUsers: an administrator declares the exchange and
// creates two broker users, the publisher's may only write to the exchange,
// the consumer's may only declare, bind and read its own queue (and read the
// exchange). Passwords come from files, one of them through systemd's
// $CREDENTIALS_DIRECTORY. The pipeline works end to end and no log, nor
// -check-config, shows a password.
func TestProdLeastPrivilegeUsers(t *testing.T) {
	t.Parallel() // its own broker only; overlaps its boot with other tests'
	node := brokertest.Start(t)
	exchange := brokertest.Name(t, "ex")
	queue := "sysmon-consumer." + strings.TrimPrefix(brokertest.Name(t, "host"), "host.")

	// The administrator's part: the exchange, as the daemons would declare it.
	conn, err := amqp.Dial(node.URL)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(exchange, "fanout", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	const pubPassword, conPassword = "pub-Secret-4f9a", "con-Secret-81c2"
	ex := regexp.QuoteMeta(exchange)
	node.Ctl(t, "add_user", "sysmon-pub", pubPassword)
	node.Ctl(t, "set_permissions", "-p", "/", "sysmon-pub", "^$", "^"+ex+"$", "^$")
	node.Ctl(t, "add_user", "sysmon-con", conPassword)
	node.Ctl(t, "set_permissions", "-p", "/", "sysmon-con",
		`^sysmon-consumer\..*`, `^sysmon-consumer\..*`, `^(sysmon-consumer\..*|`+ex+`)$`)

	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "rabbitmq-password"), []byte(pubPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conPasswordFile := writeFile(t, "consumer-password", []byte(conPassword+"\n"))

	// The consumer with the prototype's host keys and an absolute file.
	consEnv := Env{"RABBITMQ_HOST": "127.0.0.1", "RABBITMQ_PORT": fmt.Sprint(node.Port), "RABBITMQ_USER": "sysmon-con",
		"RABBITMQ_PASSWORD_FILE": conPasswordFile, "EXCHANGE_NAME": exchange, "QUEUE_NAME": queue}
	cons := Start(t, "sysmon-consumer", consEnv)
	cons.WaitReady(t, 20*time.Second)
	ws := DialWS(t, cons)
	// The publisher with a URL without password and a systemd credential.
	pubEnv := Env{"RABBITMQ_URL": fmt.Sprintf("amqp://sysmon-pub@127.0.0.1:%d/", node.Port),
		"RABBITMQ_PASSWORD_FILE": "rabbitmq-password", "EXCHANGE_NAME": exchange, "PUBLISH_INTERVAL": "0"}
	pub := Start(t, "sysmon-publisher", pubEnv, "CREDENTIALS_DIRECTORY="+creds)
	pub.WaitReady(t, 20*time.Second)
	publishOne(t, pub, ws)

	if out := node.Ctl(t, "list_connections", "user"); !strings.Contains(out, "sysmon-pub") || !strings.Contains(out, "sysmon-con") {
		t.Fatalf("the daemons are not connected as their own users:\n%s", out)
	}
	// Reconnects go through the same declarations.
	node.CloseAll(t)
	pub.WaitLog(t, "connected to broker", 2, 20*time.Second)
	cons.WaitLog(t, "connected to broker", 2, 20*time.Second)
	publishOne(t, pub, ws)

	// Each of those permissions is needed: take one away and the broker
	// refuses. (RabbitMQ 3.10 names the object refused, not the permission.)
	ctlUser := func(name, configure, write, read string) string {
		node.Ctl(t, "add_user", name, conPassword)
		node.Ctl(t, "set_permissions", "-p", "/", name, configure, write, read)
		return fmt.Sprintf("amqp://%s@127.0.0.1:%d/", name, node.Port)
	}
	conQ, conRead := `^sysmon-consumer\..*`, `^(sysmon-consumer\..*|`+ex+`)$`
	for i, c := range []struct {
		why                    string
		configure, write, read string
		refused                string // "queue" or "exchange"
	}{
		{"configure on the queue, to declare it", "^$", conQ, conRead, "queue"},
		{"write on the queue, to bind it", conQ, "^$", conRead, "queue"},
		{"read on the exchange, to bind the queue to it", conQ, conQ, conQ, "exchange"},
		{"read on the queue, to consume", conQ, conQ, "^" + ex + "$", "queue"},
	} {
		q := fmt.Sprintf("%s.%d", queue, i)
		url := ctlUser(fmt.Sprintf("sysmon-con-%d", i), c.configure, c.write, c.read)
		d := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url, "RABBITMQ_PASSWORD_FILE": conPasswordFile,
			"EXCHANGE_NAME": exchange, "QUEUE_NAME": q})
		object := "queue '" + q + "'"
		if c.refused == "exchange" {
			object = "exchange '" + exchange + "'"
		}
		d.WaitLog(t, "ACCESS_REFUSED - access to "+object, 1, 20*time.Second)
		if code, _ := d.Get(t, "/readyz"); code != http.StatusServiceUnavailable {
			t.Errorf("without %s the consumer's /readyz answers %d", c.why, code)
		}
		d.Stop(t)
		if strings.Contains(d.Output(), conPassword) {
			t.Fatalf("a password appears in the output:\n%s", d.Output())
		}
	}
	url := ctlUser("sysmon-pub-readonly", "^$", "^$", "^"+ex+"$")
	d := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": url, "RABBITMQ_PASSWORD_FILE": conPasswordFile,
		"EXCHANGE_NAME": exchange, "PUBLISH_INTERVAL": "0"})
	d.WaitReady(t, 20*time.Second) // connecting and finding the exchange need no permission
	publish(t, d, http.MethodPost)
	d.WaitLog(t, "ACCESS_REFUSED - access to exchange '"+exchange+"'", 1, 20*time.Second)
	d.Stop(t)

	if code, _ := pub.Stop(t); code != 0 {
		t.Fatalf("publisher exit %d", code)
	}
	if code, _ := cons.Stop(t); code != 0 {
		t.Fatalf("consumer exit %d", code)
	}
	logs := pub.Output() + cons.Output()
	for _, name := range []string{"sysmon-publisher", "sysmon-consumer"} {
		env := consEnv
		if name == "sysmon-publisher" {
			env = pubEnv
			env["RABBITMQ_PASSWORD_FILE"] = filepath.Join(creds, "rabbitmq-password")
		}
		out, err := runBinary(name, "-config", writeEnv(t, env), "-check-config")
		if err != nil {
			t.Fatalf("%s -check-config: %v\n%s", name, err, out)
		}
		logs += out
	}
	if strings.Contains(logs, pubPassword) || strings.Contains(logs, conPassword) {
		t.Fatalf("a password appears in the output:\n%s", logs)
	}
}
