package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestAllowedHosts(t *testing.T) {
	p := write(t, "APP_PORT=8003\nAPP_ALLOWED_HOSTS= Dash.Example.com. , *.corp.example,[2001:DB8::1],10.0.0.5\n")
	l, err := Open(p, true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	h := LoadHTTP(l, 8003)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"dash.example.com", "*.corp.example", "2001:db8::1", "10.0.0.5"}
	if !slices.Equal(h.AllowedHosts, want) || h.AnyHost {
		t.Fatalf("AllowedHosts %q any=%v, want %q", h.AllowedHosts, h.AnyHost, want)
	}
	if d := h.Describe(); !strings.Contains(d, "dash.example.com, *.corp.example") {
		t.Errorf("Describe() = %q, want the names listed", d)
	}

	l, _ = Open(write(t, "APP_ALLOWED_HOSTS=*\n"), true, noEnv)
	if h := LoadHTTP(l, 8003); !h.AnyHost || l.Err() != nil {
		t.Fatalf("* : any=%v err=%v", h.AnyHost, l.Err())
	} else if d := h.Describe(); !strings.Contains(d, "no DNS rebinding protection") {
		t.Errorf("Describe() = %q does not say * is unsafe", d)
	}

	l, _ = Open(write(t, "# default\n"), true, noEnv)
	if h := LoadHTTP(l, 8003); h.AnyHost || len(h.AllowedHosts) != 0 {
		t.Fatalf("default: %+v", h)
	}
}

// TestAllowedHostsErrors: a bad entry is refused with file, line, key and
// what was expected.
func TestAllowedHostsErrors(t *testing.T) {
	for _, c := range []struct{ value, says string }{
		{"dash.example.com:8003", "give the name alone"},
		{"dash example.com", "not a host name"},
		{"dash/x", "not a host name"},
		{"-dash.example.com", "not a host name"},
		{"a..b", "not a host name"},
		{"ok.example," + strings.Repeat("a", 64) + ".example", "not a host name"},
		{strings.Repeat("abcdefgh.", 30) + "com", "longer than 253"},
		{"dash%x.example", "not a host name"},
	} {
		l, err := Open(write(t, "APP_PORT=8003\nAPP_ALLOWED_HOSTS="+c.value+"\n"), true, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		LoadHTTP(l, 8003)
		var es Errors
		if !errors.As(l.Err(), &es) || len(es) != 1 {
			t.Fatalf("%q: err %v, want one error", c.value, l.Err())
		}
		e := es[0]
		if e.Line != 2 || e.Key != "APP_ALLOWED_HOSTS" || !strings.Contains(e.Msg, c.says) || !strings.Contains(e.Msg, "expected host names") {
			t.Errorf("%q: %v, want line 2, key APP_ALLOWED_HOSTS, %q and what is expected", c.value, e, c.says)
		}
	}
}
