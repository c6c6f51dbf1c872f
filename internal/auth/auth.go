// Package auth owns access control of the daemons' HTTP endpoints: HTTP
// Basic with a bcrypt-hashed password (for people, and the dashboard's
// WebSocket, which the browser authenticates the same way), and bearer
// tokens stored as their SHA-256 (for Prometheus and scripts). Nothing
// secret is kept in clear in the env file.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Config is the access policy; the zero value lets everyone in.
type Config struct {
	User         string
	PasswordHash []byte // bcrypt
	TokenSHA256  []byte // 32 bytes
}

// Enabled tells whether any credential is configured.
func (c Config) Enabled() bool { return c.PasswordHash != nil || c.TokenSHA256 != nil }

// HashPassword returns the bcrypt hash to put after "user:" in AUTH_BASIC.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// Guard checks credentials in front of a handler.
type Guard struct {
	cfg     Config
	userSum [32]byte // SHA-256 of cfg.User: compared in constant time and length
	fails   *failLimiter
	// compare is bcrypt.CompareHashAndPassword (tests count its calls).
	compare func(hash, password []byte) error
	mu      sync.Mutex
	good    map[[32]byte]bool // credentials already verified by bcrypt
	public  map[string]bool
}

// NewGuard protects everything but the public paths (health checks).
func NewGuard(cfg Config, public ...string) *Guard {
	g := &Guard{cfg: cfg, userSum: sha256.Sum256([]byte(cfg.User)), fails: newFailLimiter(failRate, failBurst, failTable),
		compare: bcrypt.CompareHashAndPassword, good: map[[32]byte]bool{}, public: map[string]bool{}}
	for _, p := range public {
		g.public[p] = true
	}
	return g
}

type restrictedKey struct{}

// Restrict marks r as entitled only to the status of a public endpoint, not
// to its detail (broker user and host): it came without valid credentials
// where they are configured, or under a host name the daemon does not
// answer to.
func Restrict(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), restrictedKey{}, true))
}

// Restricted tells whether Restrict marked r.
func Restricted(r *http.Request) bool {
	v, _ := r.Context().Value(restrictedKey{}).(bool)
	return v
}

// Wrap returns h behind the guard. Public paths are served to everyone, but
// restricted (see Restrict) unless valid credentials came with the request.
func (g *Guard) Wrap(h http.Handler) http.Handler {
	if !g.cfg.Enabled() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, limited := g.allowed(r)
		if g.public[r.URL.Path] {
			if !ok {
				r = Restrict(r)
			}
			h.ServeHTTP(w, r)
			return
		}
		if ok {
			h.ServeHTTP(w, r)
			return
		}
		if limited {
			// Wrong guesses cost bcrypt time: refuse floods before that.
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many failed authentications from your address", http.StatusTooManyRequests)
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
// not checked because too many checks from the client's address failed
// lately. A request without credentials is neither checked nor counted.
func (g *Guard) allowed(r *http.Request) (ok, limited bool) {
	client := clientOf(r.RemoteAddr)
	if token, isBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); isBearer && g.cfg.TokenSHA256 != nil {
		if !g.fails.take(client) {
			return false, true
		}
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(sum[:], g.cfg.TokenSHA256) != 1 {
			return false, false
		}
		g.fails.refund(client)
		return true, false
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
	if !g.fails.take(client) {
		return false, true
	}
	if !g.verify(user, pass) {
		return false, false
	}
	g.fails.refund(client)
	g.mu.Lock()
	if len(g.good) >= 64 {
		clear(g.good)
	}
	g.good[key] = true
	g.mu.Unlock()
	return true, false
}

// verify costs the same whether the user name is wrong or the password: the
// password is always checked by bcrypt against the configured hash, and the
// user names are compared by their SHA-256 (constant time, constant length).
func (g *Guard) verify(user, pass string) bool {
	userSum := sha256.Sum256([]byte(user))
	userOK := subtle.ConstantTimeCompare(userSum[:], g.userSum[:]) == 1
	passOK := g.compare(g.cfg.PasswordHash, []byte(pass)) == nil
	return userOK && passOK
}
