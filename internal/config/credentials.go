package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Credentials are who may use a daemon's HTTP endpoints (AUTH_BASIC,
// AUTH_BEARER_SHA256); the zero value lets everyone in. Nothing secret is
// held in clear: a bcrypt hash and the SHA-256 of a token.
type Credentials struct {
	User         string
	PasswordHash []byte // bcrypt
	TokenSHA256  []byte // 32 bytes
}

// Enabled tells whether any credential is configured.
func (c Credentials) Enabled() bool { return c.PasswordHash != nil || c.TokenSHA256 != nil }

// parseBasic reads "user:bcrypt-hash" (htpasswd -nbB output works as is).
func parseBasic(s string) (user string, hash []byte, err error) {
	user, h, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || user == "" || h == "" {
		return "", nil, fmt.Errorf("expected USER:BCRYPT_HASH (make one with: sysmon-consumer -hash-password)")
	}
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		return "", nil, fmt.Errorf("the part after %q: is not a bcrypt hash: %v", user, err)
	}
	return user, []byte(h), nil
}

// parseTokenSHA256 reads the hex SHA-256 of a bearer token.
func parseTokenSHA256(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("expected 64 hex digits, the SHA-256 of the token (printf %%s TOKEN | sha256sum)")
	}
	return b, nil
}
