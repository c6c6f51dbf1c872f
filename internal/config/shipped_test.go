package config_test

import (
	"path/filepath"
	"testing"

	"github.com/sysmon-dev/sysmon/internal/config"
	"github.com/sysmon-dev/sysmon/internal/consumer"
	"github.com/sysmon-dev/sysmon/internal/publisher"
)

func noEnv(string) (string, bool) { return "", false }

// TestShippedEnvFilesDocumentEveryKey: etc/sysmon/*.env document exactly
// the keys each daemon reads, and load (all commented) as the defaults.
func TestShippedEnvFilesDocumentEveryKey(t *testing.T) {
	for name, read := range map[string]func(*config.Loader) error{
		"publisher.env": func(l *config.Loader) error { _, err := publisher.Read(l); return err },
		"consumer.env":  func(l *config.Loader) error { _, err := consumer.Read(l); return err },
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "..", "etc", "sysmon", name)
			l, err := config.Open(path, true, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if err := read(l); err != nil {
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
		})
	}
}
