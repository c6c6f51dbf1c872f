package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/sysmon-dev/sysmon/internal/auth"
)

// TestCredentialsFromKeys: AUTH_BASIC and AUTH_BEARER_SHA256 become the
// hash and the digest the guard compares against, from what the daemon's
// -hash-password prints and from upper-case hex alike.
func TestCredentialsFromKeys(t *testing.T) {
	hash, err := auth.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("s3cret-token"))
	l, err := Open(write(t, "AUTH_BASIC=admin:"+hash+"\nAUTH_BEARER_SHA256="+strings.ToUpper(hex.EncodeToString(sum[:]))+"\n"), true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	h := LoadHTTP(l, 8003)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if h.Auth.User != "admin" || string(h.Auth.PasswordHash) != hash || !bytes.Equal(h.Auth.TokenSHA256, sum[:]) || !h.Auth.Enabled() {
		t.Fatalf("Auth = %+v", h.Auth)
	}
	if d := h.Describe(); !strings.Contains(d, "basic (admin) and bearer token") {
		t.Errorf("Describe() = %q", d)
	}
	if (Credentials{}).Enabled() {
		t.Error("the zero value must let everyone in")
	}
}

func TestCredentialParseErrors(t *testing.T) {
	for _, s := range []string{"", "admin", "admin:", "admin:plaintext"} {
		if _, _, err := parseBasic(s); err == nil {
			t.Errorf("parseBasic(%q) accepted", s)
		}
	}
	for _, s := range []string{"", "abc", strings.Repeat("z", 64)} {
		if _, err := parseTokenSHA256(s); err == nil {
			t.Errorf("parseTokenSHA256(%q) accepted", s)
		}
	}
	l, err := Open(write(t, "AUTH_BASIC=admin:plaintext\nAUTH_BEARER_SHA256=abc\n"), true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	LoadHTTP(l, 8003)
	msg := l.Err().Error()
	for _, want := range []string{"AUTH_BASIC", "is not a bcrypt hash", "AUTH_BEARER_SHA256", "expected 64 hex digits"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "plaintext") {
		t.Errorf("error %q shows the value given as a password hash", msg)
	}
}
