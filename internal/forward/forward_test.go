package forward

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/mq"
)

func TestSlotsSpreadHosts(t *testing.T) {
	var per [Slots]int
	for i := range 10_000 {
		per[SlotOf(fmt.Sprintf("host-%05d", i))]++
	}
	for s, n := range per {
		// 1,000 expected per slot.
		if n < 800 || n > 1200 {
			t.Errorf("slot %d holds %d of 10,000 hosts: %v", s, n, per)
		}
	}
}

// fakeFleet is a fleet whose hosts the test changes.
type fakeFleet struct {
	mu    sync.Mutex
	hosts map[string]fleet.HostState
}

func (f *fakeFleet) States(_ time.Time, buf []fleet.HostState) []fleet.HostState {
	buf = buf[:0]
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.hosts {
		buf = append(buf, e)
	}
	return buf
}

func (f *fakeFleet) set(host string, seq int, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[host] = fleet.HostState{Name: host, LastSeen: at, Snapshot: fmt.Appendf(nil, `{"host":%q,"seq":%d}`, host, seq)}
}

// Each host's latest snapshot reaches the exchange once, as it was filed,
// under its name; a host forwarded already goes again only with a newer one.
func TestForwardsEachHostsLatestOnce(t *testing.T) {
	url := brokertest.Shared(t)
	exchange, ch, queue := brokertest.Fanout(t, url, nil)
	msgs, err := ch.Consume(queue, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}

	ff := &fakeFleet{hosts: map[string]fleet.HostState{}}
	t0 := time.Now()
	for i := range 30 {
		ff.set(fmt.Sprintf("h%02d", i), 1, t0)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	every := 300 * time.Millisecond
	f := New(Options{Exchange: exchange, Every: every, States: ff.States, Log: log,
		Dialer: mq.NewDialer(mq.DialConfig{URLs: []string{url}, Shown: []string{"test"}, Heartbeat: 10 * time.Second, MaxDelay: time.Second},
			"forward-test", log, mq.NewStatus())})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	// receive collects what arrives within d: routing key → bodies.
	receive := func(d time.Duration) map[string][]string {
		got := map[string][]string{}
		deadline := time.After(d)
		for {
			select {
			case m := <-msgs:
				if m.DeliveryMode != amqp.Persistent || m.ContentType != "application/json" {
					t.Errorf("message for %s: delivery mode %d, content type %q", m.RoutingKey, m.DeliveryMode, m.ContentType)
				}
				got[m.RoutingKey] = append(got[m.RoutingKey], string(m.Body))
			case <-deadline:
				return got
			}
		}
	}
	// Three periods: every host is due three times, but has only one
	// snapshot to send.
	got := receive(3 * every)
	if len(got) != 30 {
		t.Fatalf("%d hosts forwarded, want 30: %v", len(got), got)
	}
	for h, bodies := range got {
		if want := fmt.Sprintf(`{"host":%q,"seq":1}`, h); len(bodies) != 1 || bodies[0] != want {
			t.Errorf("%s: forwarded %q, want [%s]", h, bodies, want)
		}
	}
	// Five hosts publish twice more within one period: each forwards its
	// newest only, once.
	for i := range 5 {
		h := fmt.Sprintf("h%02d", i)
		ff.set(h, 2, t0.Add(time.Second))
		ff.set(h, 3, t0.Add(2*time.Second))
	}
	got = receive(3 * every)
	if len(got) != 5 {
		t.Fatalf("%d hosts forwarded after five changed, want 5: %v", len(got), got)
	}
	for h, bodies := range got {
		if want := fmt.Sprintf(`{"host":%q,"seq":3}`, h); len(bodies) != 1 || bodies[0] != want {
			t.Errorf("%s: forwarded %q, want [%s]", h, bodies, want)
		}
	}
	if s := f.Stats(); s.Queued != 35 || s.Confirmed != 35 || s.Dropped != 0 || s.Skipped != 0 || s.Waiting != 0 {
		t.Errorf("stats %+v, want 35 queued and confirmed, none dropped, skipped or waiting", s)
	}
}
