package auth

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"
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
	hash := quickHash(t, "correct horse")
	user, h, err := ParseBasic("admin:" + hash)
	if err != nil || user != "admin" {
		t.Fatalf("ParseBasic: %q %v", user, err)
	}
	g := guarded(t, Config{User: user, PasswordHash: h})
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
	h, err := ParseTokenSHA256(strings.ToUpper(string(hexOf(sum[:]))))
	if err != nil {
		t.Fatal(err)
	}
	g := guarded(t, Config{TokenSHA256: h})
	if code := do(g, "/metrics", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret-token") }); code != http.StatusTeapot {
		t.Errorf("good token: %d", code)
	}
	if code := do(g, "/metrics", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }); code != http.StatusUnauthorized {
		t.Errorf("bad token: %d", code)
	}
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

func TestFailuresAreRateLimited(t *testing.T) {
	_, h, _ := ParseBasic("u:" + quickHash(t, "pw"))
	guard := NewGuard(Config{User: "u", PasswordHash: h})
	guard.fails = rate.NewLimiter(0, 3) // three checks, no refill: the test does not depend on bcrypt's speed
	g := guard.Wrap(teapot())
	var codes []int
	for i := 0; i < 5; i++ {
		codes = append(codes, do(g, "/", func(r *http.Request) { r.SetBasicAuth("u", "guess") }))
	}
	want := []int{401, 401, 401, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes %v, want %v", codes, want)
		}
	}
	// Known-good credentials checked before are still let in under a flood.
	guard2 := NewGuard(Config{User: "u", PasswordHash: h})
	g2 := guard2.Wrap(teapot())
	if do(g2, "/", func(r *http.Request) { r.SetBasicAuth("u", "pw") }) != http.StatusTeapot {
		t.Fatal("right password refused")
	}
	guard2.fails = rate.NewLimiter(0, 0)
	if code := do(g2, "/", func(r *http.Request) { r.SetBasicAuth("u", "pw") }); code != http.StatusTeapot {
		t.Fatalf("a verified user is locked out by the failure limit: %d", code)
	}
}

func TestHashPasswordIsBcrypt(t *testing.T) {
	h, err := HashPassword("x")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ParseBasic("u:" + h); err != nil {
		t.Fatal(err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "admin", "admin:", "admin:plaintext"} {
		if _, _, err := ParseBasic(s); err == nil {
			t.Errorf("ParseBasic(%q) accepted", s)
		}
	}
	for _, s := range []string{"", "abc", strings.Repeat("z", 64)} {
		if _, err := ParseTokenSHA256(s); err == nil {
			t.Errorf("ParseTokenSHA256(%q) accepted", s)
		}
	}
}
