package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// -print samples this (real) host once and prints a snapshot that the
// consumer would accept, with the host name of the configuration.
func TestRunPrint(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "publisher.env")
	if err := os.WriteFile(conf, []byte("HOST_NAME=print-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-config", conf, "-print"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	snap, err := snapshot.Decode(bytes.TrimSpace(stdout.Bytes()), 1<<20)
	if err != nil {
		t.Fatalf("output is not a valid snapshot: %v\n%s", err, stdout.String())
	}
	if snap.Host != "print-test" || snap.Memory.Total == 0 || snap.CPUCount == 0 || snap.AgentVersion != version {
		t.Errorf("snapshot lacks its figures: host %q, memory.total %d, cpu_count %d, agent_version %q",
			snap.Host, snap.Memory.Total, snap.CPUCount, snap.AgentVersion)
	}
}
