// Package auth owns access control of the daemons' HTTP endpoints: HTTP
// Basic with a bcrypt-hashed password (for people, and the dashboard's
// WebSocket, which the browser authenticates the same way), and bearer
// tokens stored as their SHA-256 (for Prometheus and scripts). Nothing
// secret is kept in clear in the env file.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"
)

// Config is the access policy; the zero value lets everyone in.
type Config struct {
	User         string
	PasswordHash []byte // bcrypt
	TokenSHA256  []byte // 32 bytes
}

// Enabled tells whether any credential is configured.
func (c Config) Enabled() bool { return c.PasswordHash != nil || c.TokenSHA256 != nil }

// ParseBasic reads "user:bcrypt-hash" (htpasswd -nbB output works as is).
func ParseBasic(s string) (user string, hash []byte, err error) {
	user, h, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || user == "" || h == "" {
		return "", nil, fmt.Errorf("expected USER:BCRYPT_HASH (make one with: sysmon-consumer -hash-password)")
	}
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		return "", nil, fmt.Errorf("the part after %q: is not a bcrypt hash: %v", user, err)
	}
	return user, []byte(h), nil
}

// ParseTokenSHA256 reads the hex SHA-256 of a bearer token.
func ParseTokenSHA256(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("expected 64 hex digits, the SHA-256 of the token (printf %%s TOKEN | sha256sum)")
	}
	return b, nil
}

// HashPassword returns the bcrypt hash to put after "user:" in AUTH_BASIC.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// Guard checks credentials in front of a handler.
type Guard struct {
	cfg    Config
	fails  *rate.Limiter
	mu     sync.Mutex
	good   map[[32]byte]bool // credentials already verified by bcrypt
	public map[string]bool
}

// NewGuard protects everything but the public paths (health checks).
func NewGuard(cfg Config, public ...string) *Guard {
	g := &Guard{cfg: cfg, fails: rate.NewLimiter(5, 10), good: map[[32]byte]bool{}, public: map[string]bool{}}
	for _, p := range public {
		g.public[p] = true
	}
	return g
}

// Wrap returns h behind the guard (h itself when no credential is configured).
func (g *Guard) Wrap(h http.Handler) http.Handler {
	if !g.cfg.Enabled() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, limited := g.allowed(r)
		if g.public[r.URL.Path] || ok {
			h.ServeHTTP(w, r)
			return
		}
		if limited {
			// Wrong guesses cost bcrypt time: refuse floods before that.
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many failed authentications", http.StatusTooManyRequests)
			return
		}
		if g.cfg.PasswordHash != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="sysmon", charset="UTF-8"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sysmon"`)
		}
		http.Error(w, "authentication required", http.StatusUnauthorized)
	})
}

// allowed checks the request's credentials; limited is set when they were
// not checked because too many checks failed lately.
func (g *Guard) allowed(r *http.Request) (ok, limited bool) {
	if h := r.Header.Get("Authorization"); g.cfg.TokenSHA256 != nil && strings.HasPrefix(h, "Bearer ") {
		sum := sha256.Sum256([]byte(strings.TrimPrefix(h, "Bearer ")))
		return subtle.ConstantTimeCompare(sum[:], g.cfg.TokenSHA256) == 1, false
	}
	user, pass, hasBasic := r.BasicAuth()
	if !hasBasic || g.cfg.PasswordHash == nil {
		return false, false
	}
	key := sha256.Sum256([]byte(user + "\x00" + pass))
	g.mu.Lock()
	known := g.good[key]
	g.mu.Unlock()
	if known {
		return true, false
	}
	// Unknown credentials cost a bcrypt check (~50 ms of CPU): bound how
	// many a client can make us do.
	if !g.fails.Allow() {
		return false, true
	}
	if subtle.ConstantTimeCompare([]byte(user), []byte(g.cfg.User)) != 1 ||
		bcrypt.CompareHashAndPassword(g.cfg.PasswordHash, []byte(pass)) != nil {
		return false, false
	}
	g.mu.Lock()
	if len(g.good) >= 64 {
		clear(g.good)
	}
	g.good[key] = true
	g.mu.Unlock()
	return true, false
}
