package config

import (
	"os"
	"path/filepath"
	"strings"
)

// Secret reads a secret given as KEY or, better, as KEY_FILE: a file that
// holds it on one line (a relative path is resolved in systemd's
// $CREDENTIALS_DIRECTORY, for LoadCredential=). Giving both is an error.
func (l *Loader) Secret(key string) (value string, set bool) {
	fileKey := key + "_FILE"
	file, fileSet := l.raw(fileKey)
	v, set := l.raw(key)
	switch {
	case fileSet && set:
		l.Fail(fileKey, "conflicts with %s: give one of them", key)
		return "", false
	case !fileSet:
		if strings.ContainsAny(v, "\x00\r\n") {
			l.Fail(key, "expected one line without NUL bytes")
			return "", false
		}
		return v, set && v != ""
	}
	if !filepath.IsAbs(file) {
		if dir, ok := l.lookupEnv("CREDENTIALS_DIRECTORY"); ok {
			file = filepath.Join(dir, file)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		l.Fail(fileKey, "cannot read the file: %v", err)
		return "", false
	}
	v = strings.TrimRight(string(data), "\r\n")
	if strings.ContainsAny(v, "\x00\r\n") || v == "" {
		l.Fail(fileKey, "expected the secret on one line (a final newline is ignored) in %s, found it empty or with a line break or NUL byte inside", file)
		return "", false
	}
	return v, true
}
