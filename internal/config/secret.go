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
	v, ok := l.readSecretFile(fileKey, file, "secret")
	if ok && v == "" {
		l.Fail(fileKey, "the file holds no secret")
		return "", false
	}
	return v, ok
}

// readSecretFile reads the secret (what: "password", "secret") that the
// key fileKey names: a file holding it on one line, a relative path being
// resolved in systemd's $CREDENTIALS_DIRECTORY. path is the file read.
func (l *Loader) readSecretFile(fileKey, file, what string) (v string, ok bool) {
	if !filepath.IsAbs(file) {
		if dir, ok := l.lookupEnv("CREDENTIALS_DIRECTORY"); ok {
			file = filepath.Join(dir, file)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		l.Fail(fileKey, "cannot read the %s file: %v", what, err)
		return "", false
	}
	v = strings.TrimRight(string(data), "\r\n")
	if strings.ContainsAny(v, "\x00\r\n") {
		l.Fail(fileKey, "expected the %s on one line (a final newline is ignored), found a line break or a NUL byte inside it in %s", what, file)
		return "", false
	}
	return v, true
}
