package daemon

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sysmon-dev/sysmon/internal/config"
)

type brokerOnly struct{ b config.Broker }

func (s brokerOnly) Describe() string            { return "broker = " + strings.Join(s.b.Redacted(), ", ") + "\n" }
func (s brokerOnly) Level() slog.Level           { return slog.LevelInfo }
func (s brokerOnly) BrokerConfig() config.Broker { return s.b }

func loadBrokerOnly(path string, explicit bool, lookupEnv func(string) (string, bool)) (brokerOnly, []config.Warning, error) {
	return config.Load(path, explicit, lookupEnv, func(l *config.Loader) (brokerOnly, error) {
		b := config.LoadBroker(l)
		return brokerOnly{b}, l.Err()
	})
}

// TestWarnsOnceAboutReadablePasswordFile: an env file holding the broker
// password that every user can read costs one warning at start, naming
// the file and the fix, and -check-config says the same.
func TestWarnsOnceAboutReadablePasswordFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "publisher.env")
	if err := os.WriteFile(p, []byte("RABBITMQ_USER=sysmon\nRABBITMQ_PASSWORD=hunter2-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	fix := "chmod o-rwx " + p
	var stdout, stderr bytes.Buffer
	if _, proc, exit := Start("sysmon-test", "t", p, nil, &stdout, &stderr, loadBrokerOnly); proc == nil {
		t.Fatalf("not started (exit %d): %s", exit, stderr.String())
	}
	out := stderr.String()
	if strings.Count(out, readableSecret) != 1 || strings.Count(out, fix) != 1 || strings.Contains(out, "hunter2") {
		t.Fatalf("start log:\n%s", out)
	}

	stdout.Reset()
	stderr.Reset()
	if _, proc, exit := Start("sysmon-test", "t", p, []string{"-check-config"}, &stdout, &stderr, loadBrokerOnly); exit != 0 || proc != nil {
		t.Fatalf("-check-config exit %d: %s", exit, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "warning: "+p+": "+readableSecret+"; fix: "+fix) || strings.Contains(out, "hunter2") {
		t.Fatalf("-check-config:\n%s", out)
	}

	// Once the operator has run the fix, no warning.
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if _, proc, _ := Start("sysmon-test", "t", p, nil, &stdout, &stderr, loadBrokerOnly); proc == nil || strings.Contains(stderr.String(), readableSecret) {
		t.Fatalf("warning after the fix:\n%s", stderr.String())
	}
}
