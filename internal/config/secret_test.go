package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecret(t *testing.T) {
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "hook"), []byte("from-creds\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	abs := write(t, "abs-secret\n")
	empty := write(t, "\n")
	for i, c := range []struct {
		content string
		env     map[string]string
		want    string // the value, or "error: …"
	}{
		{"", nil, ""},
		{"S=inline\n", nil, "inline"},
		{"S_FILE=" + abs + "\n", nil, "abs-secret"},
		{"S_FILE=hook\n", map[string]string{"CREDENTIALS_DIRECTORY": creds}, "from-creds"},
		{"S=a\nS_FILE=" + abs + "\n", nil, "error: S_FILE: conflicts with S"},
		{"S_FILE=" + empty + "\n", nil, "error: S_FILE: the file holds no secret"},
		{"S_FILE=/nonexistent\n", nil, "error: S_FILE: cannot read the secret file"},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			l, _ := Open(write(t, c.content), true, envOf(c.env))
			v, _ := l.Secret("S")
			err := l.Err()
			switch {
			case strings.HasPrefix(c.want, "error: "):
				if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(c.want, "error: ")) {
					t.Fatalf("got %q, %v; want %s", v, err, c.want)
				}
			case err != nil || v != c.want:
				t.Fatalf("got %q, %v; want %q", v, err, c.want)
			}
		})
	}
}
