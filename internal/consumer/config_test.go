package consumer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func noEnv(string) (string, bool) { return "", false }

// TestPrototypeEnvFile: the prototype's .env, dropped into /etc/sysmon,
// gets the prototype's queue (exclusive, transient) on the same exchange.
func TestPrototypeEnvFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "consumer.env")
	content := "RABBITMQ_HOST=localhost\nRABBITMQ_PORT=5672\nEXCHANGE_NAME=system_info\nEXCHANGE_TYPE=fanout\n" +
		"APP_PORT=8003\nQUEUE_NAME=Consumer\nQUEUE_EXCLUSIVE=true\n"
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	c, warnings, err := LoadConfig(p, true, noEnv)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("prototype .env: %v %v", err, warnings)
	}
	q := c.Queue
	if q.Name != "Consumer" || !q.Exclusive || q.Durable || !q.AutoDelete || c.HTTP.Port != 8003 || c.Broker.Exchange != "system_info" {
		t.Fatalf("queue %+v port %d", q, c.HTTP.Port)
	}
	if _, ok := q.Args()["x-expires"]; ok {
		t.Fatal("an exclusive queue needs no expiry")
	}
}

func TestDefaultQueueIsDurableBoundedAndExpiring(t *testing.T) {
	c, _, err := LoadConfig(filepath.Join(t.TempDir(), "none.env"), false, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	q := c.Queue
	if !q.Durable || q.Exclusive || q.AutoDelete || q.Args()["x-max-length"] != int64(100000) ||
		q.Args()["x-overflow"] != "drop-head" || q.Args()["x-expires"] != int64(7*24*3600*1000) {
		t.Fatalf("default queue %+v", q)
	}
	host, _ := os.Hostname()
	if q.Name != "sysmon-consumer."+host {
		t.Fatalf("default queue name %q", q.Name)
	}
}

func TestQuorumCannotBeExclusive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.env")
	if err := os.WriteFile(p, []byte("QUEUE_EXCLUSIVE=true\nQUEUE_TYPE=quorum\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadConfig(p, true, noEnv); err == nil || !strings.Contains(err.Error(), "c.env:2: QUEUE_TYPE") {
		t.Fatalf("got %v", err)
	}
}

// TestQueueSettingsReachTheQueue: QUEUE_TYPE, QUEUE_MAX_LENGTH and
// QUEUE_EXPIRES become the queue's plain settings, from which mq builds the
// broker's arguments; 0 means no bound and no expiry.
func TestQueueSettingsReachTheQueue(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.env")
	if err := os.WriteFile(p, []byte("QUEUE_TYPE=quorum\nQUEUE_MAX_LENGTH=0\nQUEUE_EXPIRES=0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := LoadConfig(p, true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	q := c.Queue
	if q.Type != "quorum" || q.MaxLength != 0 || q.Expires != 0 || len(q.Args()) != 1 || q.Args()["x-queue-type"] != "quorum" {
		t.Fatalf("queue %+v, arguments %v", q, q.Args())
	}
	if d := c.Describe(); !strings.Contains(d, "quorum") {
		t.Errorf("-check-config does not show the queue type:\n%s", d)
	}
}
