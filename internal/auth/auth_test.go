package auth

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func teapot() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
}

func guarded(t *testing.T, cfg Config) http.Handler {
	t.Helper()
	return NewGuard(cfg, "/healthz").Wrap(teapot())
}

// quickHash is a bcrypt hash at the lowest cost: the tests check logic, not
// bcrypt's strength.
func quickHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func do(h http.Handler, path string, set func(*http.Request)) int {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if set != nil {
		set(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func TestNoCredentialsConfiguredLetsEveryoneIn(t *testing.T) {
	if code := do(guarded(t, Config{}), "/", nil); code != http.StatusTeapot {
		t.Fatalf("code %d", code)
	}
}

func TestBasic(t *testing.T) {
	g := guarded(t, Config{User: "admin", PasswordHash: []byte(quickHash(t, "correct horse"))})
	for _, c := range []struct {
		name string
		set  func(*http.Request)
		want int
	}{
		{"none", nil, http.StatusUnauthorized},
		{"wrong password", func(r *http.Request) { r.SetBasicAuth("admin", "wrong") }, http.StatusUnauthorized},
		{"wrong user", func(r *http.Request) { r.SetBasicAuth("root", "correct horse") }, http.StatusUnauthorized},
		{"right", func(r *http.Request) { r.SetBasicAuth("admin", "correct horse") }, http.StatusTeapot},
		{"right again (cached)", func(r *http.Request) { r.SetBasicAuth("admin", "correct horse") }, http.StatusTeapot},
		{"bearer not configured", func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }, http.StatusUnauthorized},
	} {
		if code := do(g, "/api/hosts", c.set); code != c.want {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
	}
	if code := do(g, "/healthz", nil); code != http.StatusTeapot {
		t.Errorf("health check must stay public, got %d", code)
	}
}

func TestBearer(t *testing.T) {
	sum := sha256.Sum256([]byte("s3cret-token"))
	g := guarded(t, Config{TokenSHA256: sum[:]})
	if code := do(g, "/metrics", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret-token") }); code != http.StatusTeapot {
		t.Errorf("good token: %d", code)
	}
	if code := do(g, "/metrics", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }); code != http.StatusUnauthorized {
		t.Errorf("bad token: %d", code)
	}
}

func doFrom(h http.Handler, addr, user, pw string) int {
	return do(h, "/", func(r *http.Request) {
		r.RemoteAddr = addr
		r.SetBasicAuth(user, pw)
	})
}

// TestFailuresAreLimitedPerAddress: one client flooding wrong passwords is
// refused with 429; another address still gets in, and still gets its own
// wrong guesses checked.
func TestFailuresAreLimitedPerAddress(t *testing.T) {
	h := []byte(quickHash(t, "pw"))
	guard := NewGuard(Config{User: "u", PasswordHash: h})
	guard.fails = newFailLimiter(0, 3, 16) // three checks per address, no refill: independent of bcrypt's speed
	g := guard.Wrap(teapot())
	var codes []int
	for i := 0; i < 5; i++ {
		codes = append(codes, doFrom(g, "192.0.2.1:4000", "u", "guess"))
	}
	if want := []int{401, 401, 401, 429, 429}; !slices.Equal(codes, want) {
		t.Fatalf("flooding client: codes %v, want %v", codes, want)
	}
	if code := doFrom(g, "192.0.2.2:4000", "u", "pw"); code != http.StatusTeapot {
		t.Fatalf("another client with the right password: %d", code)
	}
	if code := doFrom(g, "192.0.2.3:4000", "u", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("another client's wrong password: %d, want 401 (checked, not limited)", code)
	}
	// IPv6 clients count per /64; an IPv4-mapped address is the IPv4 one.
	for i := 0; i < 3; i++ {
		doFrom(g, "[2001:db8::1]:4000", "u", "guess")
	}
	if code := doFrom(g, "[2001:db8::2]:4000", "u", "guess"); code != http.StatusTooManyRequests {
		t.Errorf("same /64: %d, want 429", code)
	}
	if code := doFrom(g, "[2001:db8:0:1::1]:4000", "u", "guess"); code != http.StatusUnauthorized {
		t.Errorf("another /64: %d, want 401", code)
	}
	if code := doFrom(g, "[::ffff:192.0.2.1]:4000", "u", "guess"); code != http.StatusTooManyRequests {
		t.Errorf("IPv4-mapped address of the flooding client: %d, want 429", code)
	}
	// Known-good credentials checked before are still let in under a flood
	// from their own address.
	guard2 := NewGuard(Config{User: "u", PasswordHash: h})
	g2 := guard2.Wrap(teapot())
	if doFrom(g2, "192.0.2.1:1", "u", "pw") != http.StatusTeapot {
		t.Fatal("right password refused")
	}
	guard2.fails = newFailLimiter(0, 0, 16)
	if code := doFrom(g2, "192.0.2.1:1", "u", "pw"); code != http.StatusTeapot {
		t.Fatalf("a verified user is locked out by the failure limit: %d", code)
	}
}

// TestOnlyFailuresCount: right credentials (basic or bearer) give back the
// check they reserved.
func TestOnlyFailuresCount(t *testing.T) {
	h := []byte(quickHash(t, "pw"))
	sum := sha256.Sum256([]byte("tok"))
	guard := NewGuard(Config{User: "u", PasswordHash: h, TokenSHA256: sum[:]})
	guard.fails = newFailLimiter(0, 1, 16)
	g := guard.Wrap(teapot())
	bearer := func(tok string) int {
		return do(g, "/", func(r *http.Request) {
			r.RemoteAddr = "192.0.2.9:1"
			r.Header.Set("Authorization", "Bearer "+tok)
		})
	}
	for i := 0; i < 3; i++ {
		if code := bearer("tok"); code != http.StatusTeapot {
			t.Fatalf("right token #%d: %d", i, code)
		}
	}
	if code := doFrom(g, "192.0.2.9:1", "u", "pw"); code != http.StatusTeapot {
		t.Fatalf("right password: %d", code)
	}
	if code := bearer("nope"); code != http.StatusUnauthorized {
		t.Fatalf("first wrong token: %d, want 401", code)
	}
	if code := bearer("nope"); code != http.StatusTooManyRequests {
		t.Fatalf("second wrong token: %d, want 429", code)
	}
}

// TestFailureTableIsBounded: a flood from many addresses keeps the table
// at its bound; idle addresses are forgotten once their bucket refilled,
// and an address still limited is not.
func TestFailureTableIsBounded(t *testing.T) {
	now := time.Unix(1e9, 0)
	l := newFailLimiter(1, 2, 8)
	l.now = func() time.Time { return now }
	addr := func(i int) netip.Prefix {
		return clientOf(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 1).String())
	}
	// Address 0 is limited: two failures, no time passes.
	l.take(addr(0))
	l.take(addr(0))
	if l.take(addr(0)) {
		t.Fatal("third failure allowed with a burst of 2")
	}
	for i := 1; i < 10000; i++ {
		l.take(addr(i))
	}
	if n := l.size(); n > 8 {
		t.Fatalf("table holds %d addresses, bound 8", n)
	}
	now = now.Add(1500 * time.Millisecond) // addresses 1-7 (one failure each) have refilled; 0 has not
	if !l.take(addr(20000)) {
		t.Fatal("a new address after the sweep was refused")
	}
	if _, ok := l.table[addr(20000)]; !ok {
		t.Fatal("the sweep made no room for a new address")
	}
	// Address 0 has 1.5 of its 2 checks back: it must be remembered (a
	// forgotten address would start again with 2).
	if _, ok := l.table[addr(0)]; !ok {
		t.Fatal("the sweep forgot an address whose bucket had not refilled")
	}
	if !l.take(addr(0)) || l.take(addr(0)) {
		t.Fatal("address 0 did not keep its partly used bucket")
	}
}

// TestWrongUserCostsABcrypt: a wrong user name is checked with bcrypt just
// like a wrong password, so both answer in the same time.
func TestWrongUserCostsABcrypt(t *testing.T) {
	h := []byte(quickHash(t, "pw"))
	guard := NewGuard(Config{User: "admin", PasswordHash: h})
	calls := 0
	guard.compare = func(hash, pw []byte) error {
		calls++
		if !bytes.Equal(hash, h) {
			t.Errorf("bcrypt ran against %q, not the configured hash", hash)
		}
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	g := guard.Wrap(teapot())
	for _, c := range []struct{ user, pw string }{{"root", "pw"}, {"admin", "wrong"}, {"", ""}, {"administrator", "pw"}} {
		calls = 0
		if code := doFrom(g, "192.0.2.1:1", c.user, c.pw); code != http.StatusUnauthorized {
			t.Errorf("%q/%q: %d", c.user, c.pw, code)
		}
		if calls != 1 {
			t.Errorf("%q/%q: bcrypt ran %d times, want 1", c.user, c.pw, calls)
		}
	}
}

// TestPublicPathsAreRestrictedWithoutCredentials: health checks are served
// to everyone, but only a request with valid credentials may see detail.
func TestPublicPathsAreRestrictedWithoutCredentials(t *testing.T) {
	h := []byte(quickHash(t, "pw"))
	var restricted bool
	probe := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { restricted = Restricted(r) })
	for _, c := range []struct {
		name string
		cfg  Config
		set  func(*http.Request)
		want bool
	}{
		{"no credentials configured", Config{}, nil, false},
		{"none given", Config{User: "u", PasswordHash: h}, nil, true},
		{"wrong", Config{User: "u", PasswordHash: h}, func(r *http.Request) { r.SetBasicAuth("u", "x") }, true},
		{"right", Config{User: "u", PasswordHash: h}, func(r *http.Request) { r.SetBasicAuth("u", "pw") }, false},
	} {
		restricted = !c.want
		if code := do(NewGuard(c.cfg, "/readyz").Wrap(probe), "/readyz", c.set); code != http.StatusOK {
			t.Errorf("%s: %d", c.name, code)
		}
		if restricted != c.want {
			t.Errorf("%s: restricted %v, want %v", c.name, restricted, c.want)
		}
	}
}

func TestHashPasswordIsBcrypt(t *testing.T) {
	h, err := HashPassword("x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		t.Fatalf("not a bcrypt hash: %v", err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(h), []byte("x")); err != nil {
		t.Fatalf("the hash does not match its password: %v", err)
	}
}
