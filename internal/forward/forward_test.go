package forward

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/packed"
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
	f.hosts[host] = fleet.HostState{Name: host, LastSeen: at, Snapshot: packed.Of(fmt.Appendf(nil, `{"host":%q,"seq":%d}`, host, seq))}
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
	every := 300 * time.Millisecond
	f, stop := startForwarder(t, url, Options{Exchange: exchange, Every: every, States: ff.States}, time.Second)
	defer stop()

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

// proxy passes TCP connections on to the broker; the test can hold what the
// broker sends back (its confirms) and cut every connection.
type proxy struct {
	addr string
	hold sync.Mutex // held: nothing from the broker reaches the client
	mu   sync.Mutex
	cons []net.Conn
}

// startForwarder runs a forwarder with o, its log discarded, dialling the
// broker at url; the returned func stops it and reports Run's error.
func startForwarder(t *testing.T, url string, o Options, maxDelay time.Duration) (f *Forwarder, stop func()) {
	t.Helper()
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	o.Dialer = mq.NewDialer(mq.DialConfig{URLs: []string{url}, Shown: []string{"test"}, Heartbeat: 10 * time.Second, MaxDelay: maxDelay},
		"forward-test", o.Log, mq.NewStatus())
	f = New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	return f, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.cons = append(p.cons, c, b)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(b, c); b.Close(); c.Close() }()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := b.Read(buf)
					if n > 0 {
						p.hold.Lock()
						_, werr := c.Write(buf[:n])
						p.hold.Unlock()
						if werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				b.Close()
				c.Close()
			}()
		}
	}()
	return p
}

// cut closes every connection passed so far.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.cons {
		c.Close()
	}
	p.cons = nil
}

// With a window, many snapshots are on their way at once; a connection cut
// while they wait for their confirm loses none: each host's newest arrives
// and every one is confirmed.
func TestWindowKeepsManyInFlightAndSurvivesACut(t *testing.T) {
	url := brokertest.Shared(t)
	exchange, ch, queue := brokertest.Fanout(t, url, nil)
	msgs, err := ch.Consume(queue, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, "127.0.0.1:5672")

	const hosts, window = 100, 20
	ff := &fakeFleet{hosts: map[string]fleet.HostState{}}
	t0 := time.Now()
	for i := range hosts {
		ff.set(fmt.Sprintf("h%03d", i), 1, t0)
	}
	f, stop := startForwarder(t, "amqp://guest:guest@"+p.addr+"/", Options{Exchange: exchange, Every: 200 * time.Millisecond, Window: window, States: ff.States},
		500*time.Millisecond)
	defer stop()

	// newest collects what arrives until each host's newest seen is seq,
	// or at least n messages of seq arrived (n > 0).
	newest := map[string]string{}
	await := func(what string, done func(arrived int) bool, seq int) {
		t.Helper()
		arrived := 0
		deadline := time.After(30 * time.Second) // a hang, not a speed check
		for !done(arrived) {
			select {
			case m := <-msgs:
				newest[m.RoutingKey] = string(m.Body)
				if string(m.Body) == fmt.Sprintf(`{"host":%q,"seq":%d}`, m.RoutingKey, seq) {
					arrived++
				}
			case <-deadline:
				t.Fatalf("%s: %d of seq %d arrived, stats %+v", what, arrived, seq, f.Stats())
			}
		}
	}
	allAt := func(seq int) func(int) bool {
		return func(int) bool {
			for i := range hosts {
				h := fmt.Sprintf("h%03d", i)
				if newest[h] != fmt.Sprintf(`{"host":%q,"seq":%d}`, h, seq) {
					return false
				}
			}
			return true
		}
	}
	await("first round", allAt(1), 1)
	for deadline := time.Now().Add(30 * time.Second); f.Stats().Confirmed < hosts; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first round is not confirmed after 30 s: %+v", f.Stats())
		}
	}

	// The broker's confirms are held back: a window's worth of snapshots
	// reaches the queue all the same, none of them confirmed.
	p.hold.Lock()
	for i := range hosts {
		ff.set(fmt.Sprintf("h%03d", i), 2, t0.Add(time.Second))
	}
	await("while confirms are held", func(n int) bool { return n >= window }, 2)
	if s := f.Stats(); s.Confirmed != hosts {
		t.Errorf("confirmed %d while confirms were held, want %d", s.Confirmed, hosts)
	}
	// The connection is cut with them in flight: they go again, with the
	// rest, on the next connection.
	p.cut()
	p.hold.Unlock()
	await("after the cut", allAt(2), 2)
	deadline := time.Now().Add(30 * time.Second)
	for s := f.Stats(); s.Confirmed != 2*hosts || s.Waiting != 0; s = f.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want %d confirmed, none waiting", s, 2*hosts)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s := f.Stats(); s.Queued != 2*hosts || s.Dropped != 0 || s.Skipped != 0 {
		t.Errorf("stats %+v, want %d queued, none dropped or skipped", s, 2*hosts)
	}
}
