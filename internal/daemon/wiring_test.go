package daemon

import (
	"crypto/tls"
	"reflect"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/config"
)

// nonZero fails for each field of v left at its zero value: a field added
// to a package's settings but not to the wiring would silently be lost (an
// allowed-host list, a credential).
func nonZero(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			t.Errorf("%s.%s is not carried over", rv.Type().Name(), rv.Type().Field(i).Name)
		}
	}
}

func TestListenCarriesEverySetting(t *testing.T) {
	h := config.HTTP{Host: "10.0.0.1", Port: 8003, CertFile: "c.pem", KeyFile: "k.pem",
		Auth:         config.Credentials{User: "u", PasswordHash: []byte("$2a$"), TokenSHA256: make([]byte, 32)},
		AllowedHosts: []string{"dash.example.com"}, AnyHost: true}
	s := Listen(h)
	nonZero(t, s)
	nonZero(t, s.Auth)
	if s.Host != h.Host || s.Port != h.Port || s.Auth.User != "u" || s.AllowedHosts[0] != "dash.example.com" {
		t.Errorf("Listen(%+v) = %+v", h, s)
	}
}

func TestDialCarriesEverySetting(t *testing.T) {
	b := config.Broker{URLs: []string{"amqp://u:s3cret@mq:5672/"}, Heartbeat: 10 * time.Second,
		ReconnectMax: 30 * time.Second, TLS: &tls.Config{}}
	d := Dial(b)
	nonZero(t, d)
	if d.Shown[0] != "amqp://u:xxxxx@mq:5672/" || d.MaxDelay != b.ReconnectMax {
		t.Errorf("Dial = %+v", d)
	}
}
