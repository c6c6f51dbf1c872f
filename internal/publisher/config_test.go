package publisher

import (
	"path/filepath"
	"testing"

	"github.com/sysmon-dev/sysmon/internal/config"
)

func noEnv(string) (string, bool) { return "", false }

// TestShippedEnvFileDocumentsEveryKey: etc/sysmon/publisher.env documents
// exactly the keys the daemon reads, and loads (all commented) as defaults.
func TestShippedEnvFileDocumentsEveryKey(t *testing.T) {
	path := filepath.Join("..", "..", "etc", "sysmon", "publisher.env")
	l, err := config.Open(path, true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := load(l); err != nil {
		t.Fatalf("the shipped file does not load: %v", err)
	}
	if ws := l.Unknown(); len(ws) != 0 {
		t.Fatalf("the shipped file sets unknown keys: %v", ws)
	}
	documented, err := config.DocumentedKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if missing := config.Diff(l.Known(), documented); missing != "" {
		t.Errorf("keys read by the daemon but not documented in %s: %s", path, missing)
	}
	if extra := config.Diff(documented, l.Known()); extra != "" {
		t.Errorf("keys documented in %s that the daemon does not read: %s", path, extra)
	}
}
