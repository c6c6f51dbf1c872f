package mq

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A session that fails the same way right after connecting, again and
// again (a refused user_id, say), is told once at info/warning level: one
// "connected", one warning; the retries are debug lines. Against the real
// broker, since the dialer's job is connecting to it.
func TestDialerRepeatedFailureLoggedOnce(t *testing.T) {
	url := brokertest.Shared(t)
	var out lockedBuffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := &Dialer{URLs: []string{url}, MaxDelay: 20 * time.Millisecond, Name: "sysmon test " + t.Name(),
		Log: log, Status: NewStatus()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sessions := 0
	done := make(chan error)
	go func() {
		done <- d.Run(ctx, func(ctx context.Context, conn *amqp.Connection, ready func()) error {
			ready()
			sessions++
			if sessions == 4 {
				cancel()
				<-ctx.Done()
				return nil
			}
			return errors.New("Exception (406) Reason: \"PRECONDITION_FAILED - user_id property set to 'x' but authenticated user was 'guest'\"")
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return")
	}
	s := out.String()
	count := func(level, msg string) int {
		n := 0
		for _, line := range strings.Split(s, "\n") {
			if strings.Contains(line, "level="+level) && strings.Contains(line, msg) {
				n++
			}
		}
		return n
	}
	if n := count("INFO", `msg="connected to broker"`); n != 1 {
		t.Errorf("%d info lines \"connected\", want 1:\n%s", n, s)
	}
	if n := count("DEBUG", `msg="connected to broker"`); n != 3 {
		t.Errorf("%d debug lines \"connected\", want 3:\n%s", n, s)
	}
	if n := count("WARN", "broker connection ended"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, s)
	}
	if strings.Contains(s, "guest:guest") {
		t.Errorf("the password reached the log:\n%s", s)
	}
}

// TestShownNeverTheURL: the log and the status name a broker by what the
// caller gave as its shown form, and by its position when there is none;
// never by the URL, which carries the password.
func TestShownNeverTheURL(t *testing.T) {
	d := NewDialer(DialConfig{URLs: []string{"amqp://u:s3cret@a:5672/", "amqp://u:s3cret@b:5672/"},
		Shown: []string{"amqp://u:xxxxx@a:5672/"}}, "test", nil, nil)
	if got := d.shown(0); got != "amqp://u:xxxxx@a:5672/" {
		t.Errorf("shown(0) = %q", got)
	}
	if got := d.shown(1); got != "broker 2 of 2" || strings.Contains(got, "s3cret") {
		t.Errorf("shown(1) = %q, want its position", got)
	}
}
