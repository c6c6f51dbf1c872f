package sdnotify

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// listen plays systemd: a datagram socket named by NOTIFY_SOCKET whose
// messages arrive on the returned channel.
func listen(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	ch := make(chan string, 100)
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := c.Read(b)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(b[:n])
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no sd_notify message")
		return ""
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Ready, Status and Stopping reach systemd; a repeated status is not resent.
func TestNotifierMessages(t *testing.T) {
	ch := listen(t)
	n := New(quiet())
	n.Ready()
	n.Status("connected to amqp://mq/")
	n.Status("connected to amqp://mq/")
	n.Status("broker unreachable")
	n.Stopping()
	want := []string{"READY=1", "STATUS=connected to amqp://mq/", "STATUS=broker unreachable", "STOPPING=1"}
	for _, w := range want {
		if got := next(t, ch); got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
	}
	select {
	case m := <-ch:
		t.Fatalf("unexpected message %q", m)
	case <-time.After(100 * time.Millisecond):
	}
}

// Outside systemd every call is a no-op and Run waits for its context.
func TestWithoutSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n := New(quiet())
	n.Ready()
	n.Status("x")
	w := NewWatchdog(n)
	if w.Interval() != 0 {
		t.Fatalf("interval %v without WATCHDOG_USEC", w.Interval())
	}
	w.Loop("main")()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// fakeClock is a settable clock for the watchdog's loop beats.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Stuck names the loop that stopped beating, and only it.
func TestStuck(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	w := &Watchdog{n: New(quiet()), beats: map[string]*atomic.Int64{}, now: clock.now}
	a, b := w.Loop("ingest"), w.Loop("publish")
	if s := w.Stuck(time.Second); s != "" {
		t.Fatalf("fresh loops reported stuck: %q", s)
	}
	clock.add(2 * time.Second)
	a()
	if s := w.Stuck(time.Second); s != "publish" {
		t.Fatalf("Stuck = %q, want publish", s)
	}
	b()
	if s := w.Stuck(time.Second); s != "" {
		t.Fatalf("Stuck = %q after both beat", s)
	}
}

// The watchdog pings systemd while every loop beats, withholds the pings
// while one is stuck, and resumes when it beats again.
func TestWatchdogPings(t *testing.T) {
	ch := listen(t)
	t.Setenv("WATCHDOG_USEC", "200000") // 200 ms: pings every 100 ms
	t.Setenv("WATCHDOG_PID", "")
	clock := &fakeClock{t: time.Unix(1000, 0)}
	n := New(quiet())
	w := NewWatchdog(n)
	if w.Interval() != 200*time.Millisecond {
		t.Fatalf("interval %v", w.Interval())
	}
	w.now = clock.now
	beat := w.Loop("main")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.Run(ctx) }()
	if m := next(t, ch); m != "WATCHDOG=1" {
		t.Fatalf("got %q, want a ping", m)
	}
	// The loop stops beating: after at most one ping already on its way,
	// no more arrive.
	clock.add(time.Minute)
	time.Sleep(300 * time.Millisecond)
	drain(ch)
	select {
	case m := <-ch:
		t.Fatalf("ping %q while the loop is stuck", m)
	case <-time.After(500 * time.Millisecond):
	}
	beat()
	if m := next(t, ch); m != "WATCHDOG=1" {
		t.Fatalf("got %q, want pings again", m)
	}
	if !strings.HasPrefix(next(t, ch), "WATCHDOG") {
		t.Fatal("pings did not go on")
	}
}

func drain(ch <-chan string) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
