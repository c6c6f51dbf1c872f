package publisher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutboxDir: under systemd the outbox lives in StateDirectory=, the key
// overrides it, empty keeps it in memory, and a relative path is refused.
func TestOutboxDir(t *testing.T) {
	cases := []struct {
		name, stateDir string
		env            map[string]string
		want, err      string
	}{
		{name: "outside systemd: memory only", want: ""},
		{name: "StateDirectory=", stateDir: "/var/lib/sysmon-publisher", want: "/var/lib/sysmon-publisher"},
		{name: "first of several state directories", stateDir: "/var/lib/a:/var/lib/b", want: "/var/lib/a"},
		{name: "key overrides", stateDir: "/var/lib/sysmon-publisher", env: map[string]string{"OUTBOX_DIR": "/srv/outbox"}, want: "/srv/outbox"},
		{name: "empty key: memory only", stateDir: "/var/lib/sysmon-publisher", env: map[string]string{"OUTBOX_DIR": ""}, want: ""},
		{name: "relative", env: map[string]string{"OUTBOX_DIR": "outbox"}, err: `OUTBOX_DIR: expected an absolute directory`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("STATE_DIRECTORY", c.stateDir)
			if c.stateDir == "" {
				os.Unsetenv("STATE_DIRECTORY")
			}
			lookup := func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
			cfg, _, err := LoadConfig(filepath.Join(t.TempDir(), "none.env"), false, lookup)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.OutboxDir != c.want {
				t.Fatalf("OutboxDir = %q, want %q", cfg.OutboxDir, c.want)
			}
			if !strings.Contains(cfg.Describe(), "OUTBOX_DIR") {
				t.Errorf("-check-config does not show OUTBOX_DIR:\n%s", cfg.Describe())
			}
		})
	}
}
