package alert

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
)

// flaky is a channel that fails while down, and records what it took.
type flaky struct {
	mu   sync.Mutex
	down bool
	got  []string
}

func (f *flaky) Name() string { return "fake" }
func (f *flaky) Send(_ context.Context, n *Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("down")
	}
	f.got = append(f.got, n.ID)
	return nil
}
func (f *flaky) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}
func (f *flaky) set(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A notification pending on a failing channel survives a restart, and is
// delivered exactly once after it; firing alerts stay firing.
func TestPendingSurvivesRestartDeliveredOnce(t *testing.T) {
	dir := t.TempDir()
	ch := &flaky{down: true}
	cfg := testConfig()
	cfg.For = 0
	var hot []fleet.Entry
	opts := Options{Dir: dir, Every: 10 * time.Millisecond, Channels: []Channel{ch}, RetryMax: 20 * time.Millisecond,
		Hosts: func(now time.Time, _ []fleet.Entry) []fleet.Entry { return hot }, Broker: func() (bool, time.Time) { return true, time.Time{} }, Log: quiet()}
	hot = []fleet.Entry{host("a", time.Now(), 99)}
	s, err := NewService(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, func() bool { return s.ChannelStats()["fake"].Failed >= 2 })
	stop()
	<-done
	if st := s.ChannelStats()["fake"]; st.Pending != 1 || st.Sent != 0 {
		t.Fatalf("before restart: %+v", st)
	}
	// Restart with the channel back.
	ch.set(false)
	s2, err := NewService(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if v := s2.View(time.Now()); len(v.Firing) != 1 {
		t.Fatalf("the firing alert was forgotten: %+v", v)
	}
	ctx, stop = context.WithCancel(context.Background())
	go func() { done <- s2.Run(ctx) }()
	waitFor(t, func() bool { return len(ch.ids()) == 1 })
	time.Sleep(100 * time.Millisecond) // more checks: nothing fires again
	stop()
	<-done
	if ids := ch.ids(); len(ids) != 1 {
		t.Fatalf("delivered %d times, want once: %v", len(ids), ids)
	}
	if st := s2.ChannelStats()["fake"]; st.Pending != 0 || st.Sent != 1 {
		t.Fatalf("after: %+v", st)
	}
}

func TestCorruptStateIsMovedAside(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/alerts", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stateFile(dir), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewService(testConfig(), Options{Dir: dir, Log: quiet()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stateFile(dir) + ".corrupt"); err != nil {
		t.Fatalf("the unreadable state was not kept aside: %v", err)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
