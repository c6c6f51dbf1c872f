package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

func TestPrintFlag(t *testing.T) {
	cases := []struct {
		args  []string
		rest  []string
		print bool
	}{
		{nil, nil, false},
		{[]string{"-print"}, nil, true},
		{[]string{"--print", "-config", "x.env"}, []string{"-config", "x.env"}, true},
		{[]string{"-config", "-print"}, []string{"-config", "-print"}, false},
		{[]string{"-print=false", "-version"}, []string{"-version"}, false},
		{[]string{"-check-config", "--", "-print"}, []string{"-check-config", "--", "-print"}, false},
		{[]string{"arg", "-print"}, []string{"arg", "-print"}, false},
	}
	for _, c := range cases {
		rest, print := printFlag(c.args)
		if !slices.Equal(rest, c.rest) || print != c.print {
			t.Errorf("printFlag(%q) = %q, %v; want %q, %v", c.args, rest, print, c.rest, c.print)
		}
	}
}

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
