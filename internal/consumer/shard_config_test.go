package consumer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadText loads a consumer.env holding content, without the environment.
func loadText(t *testing.T, content string) (Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.env")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := LoadConfig(p, true, noEnv)
	return c, err
}

// A shard: its queue's binding key is its weight on the consistent-hash
// exchange (100 unless set), and it forwards to another exchange.
func TestShardSettings(t *testing.T) {
	c, err := loadText(t, "EXCHANGE_TYPE=x-consistent-hash\nFORWARD_EXCHANGE=sysmon.fleet\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Queue.BindingKey != "100" || c.Forward.Exchange != "sysmon.fleet" || c.Forward.Every != 10*time.Second {
		t.Fatalf("binding key %q, forward %+v", c.Queue.BindingKey, c.Forward)
	}
	c, err = loadText(t, "EXCHANGE_TYPE=x-consistent-hash\nQUEUE_BINDING_KEY=3\nFORWARD_EXCHANGE=f\nFORWARD_EVERY=2s\n")
	if err != nil || c.Queue.BindingKey != "3" || c.Forward.Every != 2*time.Second {
		t.Fatalf("%v: binding key %q, forward %+v", err, c.Queue.BindingKey, c.Forward)
	}
	if c, err := loadText(t, ""); err != nil || c.Forward.Exchange != "" || c.Queue.BindingKey != "#" {
		t.Fatalf("defaults: %v, forward %+v, binding key %q", err, c.Forward, c.Queue.BindingKey)
	}
	for _, tc := range []struct{ env, want string }{
		{"EXCHANGE_TYPE=x-consistent-hash\nQUEUE_BINDING_KEY=#\n", "c.env:2: QUEUE_BINDING_KEY"},
		{"EXCHANGE_TYPE=x-consistent-hash\nQUEUE_BINDING_KEY=0\n", "weight"},
		{"EXCHANGE_NAME=sysmon\nFORWARD_EXCHANGE=sysmon\n", "c.env:2: FORWARD_EXCHANGE"},
		{"FORWARD_EXCHANGE=amq.fanout\n", "reserved"},
		{"FORWARD_EXCHANGE=f\nFORWARD_EVERY=10ms\n", "FORWARD_EVERY"},
	} {
		if _, err := loadText(t, tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error with %q", tc.env, err, tc.want)
		}
	}
}
