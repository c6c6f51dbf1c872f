package main

import (
	"container/heap"
	"context"
	"flag"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

const defaultAMQP = "amqp://guest:guest@127.0.0.1:5672/"

type publishOpts struct {
	cmd                                 string // publish or serve, for the progress lines
	url, exchange, exchangeType, prefix string
	hosts, conns, count, inflight       int
	interval, duration, report          time.Duration
	jitter                              float64
	confirm, declare                    bool
	shape                               shape
	seed                                uint64
}

// PublishSummary is what publish prints when it ends.
type PublishSummary struct {
	Hosts           int     `json:"hosts"`
	Sent            uint64  `json:"sent"`
	Confirmed       uint64  `json:"confirmed,omitempty"`
	Nacked          uint64  `json:"nacked,omitempty"`
	Seconds         float64 `json:"seconds"`
	PerSecond       float64 `json:"per_second"`
	AvgBytes        float64 `json:"avg_bytes"`
	MinBytes        int     `json:"min_bytes"`
	MaxBytes        int     `json:"max_bytes"`
	MaxLateMillis   float64 `json:"max_late_ms"` // worst delay behind a host's schedule
	TargetPerSecond float64 `json:"target_per_second,omitempty"`
}

func runPublish(ctx context.Context, args []string, stdout, stderr io.Writer) (any, error) {
	o := publishOpts{cmd: "publish"}
	fs := newFlags("publish", `Simulates -hosts hosts, each publishing a snapshot (sysmon's schema, the size of
a real host's: 2-16 cores, 1-3 file systems, 1-2 interfaces unless fixed by the
flags below) every -interval, at its own phase and with its own -jitter, to the
exchange. Host names are PREFIX00001, PREFIX00002, ... so that several load
generators with different prefixes add up. With -interval 0 it publishes as
fast as the broker takes them (give -count or -duration).`, stderr)
	fs.StringVar(&o.url, "url", defaultAMQP, "AMQP `URL` of the broker")
	fs.StringVar(&o.exchange, "exchange", "system_info", "exchange to publish to (EXCHANGE_NAME of the daemons)")
	fs.StringVar(&o.exchangeType, "exchange-type", "fanout", "exchange type, for -declare")
	fs.BoolVar(&o.declare, "declare", true, "declare the exchange (durable) as the daemons do")
	fs.IntVar(&o.conns, "connections", 1, "AMQP connections; hosts are spread over them")
	fs.BoolVar(&o.confirm, "confirm", false, "use publisher confirms, as sysmon-publisher does (slower)")
	fs.IntVar(&o.inflight, "inflight", 256, "with -confirm: unconfirmed messages allowed per connection")
	fleetFlags(fs, &o)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if o.conns < 1 {
		fmt.Fprintln(stderr, "-connections must be at least 1")
		return nil, errUsage
	}
	if err := checkFleet(o, stderr); err != nil {
		return nil, err
	}
	return publish(ctx, o, stderr, func(ctx context.Context, hosts []*simHost, st *pubStats, budget *atomic.Int64) error {
		return publishConn(ctx, o, hosts, st, budget)
	})
}

// fleetFlags are the flags of a simulated fleet (publish and serve).
func fleetFlags(fs *flag.FlagSet, o *publishOpts) {
	fs.IntVar(&o.hosts, "hosts", 100, "number of simulated `hosts`")
	fs.StringVar(&o.prefix, "prefix", "loadgen-", "host name prefix")
	fs.DurationVar(&o.interval, "interval", 2*time.Second, "each host's publish interval (PUBLISH_INTERVAL); 0: as fast as possible")
	fs.Float64Var(&o.jitter, "jitter", 0.02, "each host's interval differs from -interval by up to this fraction")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until -count or Ctrl-C)")
	fs.IntVar(&o.count, "count", 0, "stop after this many messages in all (0: no limit)")
	fs.IntVar(&o.shape.cores, "cores", 0, "cores per host (0: 2-16, varying)")
	fs.IntVar(&o.shape.filesystems, "filesystems", 0, "file systems per host (0: 1-3, varying)")
	fs.IntVar(&o.shape.interfaces, "interfaces", 0, "network interfaces per host (0: 1-2, varying)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed (same seed, same fleet)")
	fs.DurationVar(&o.report, "report", 10*time.Second, "progress line on stderr this often (0: none)")
	fs.Bool("json", false, "print the summary as one line of JSON")
}

// checkFleet explains what is wrong with a fleet's flags (errUsage).
func checkFleet(o publishOpts, stderr io.Writer) error {
	if o.hosts < 1 || o.interval < 0 || o.jitter < 0 || o.jitter >= 1 {
		fmt.Fprintln(stderr, "-hosts must be at least 1, -interval not negative, -jitter in [0,1)")
		return errUsage
	}
	// Beyond the consumer's limits every message would be counted invalid.
	if sh := o.shape; sh.cores < 0 || sh.cores > snapshot.MaxCores || sh.filesystems < 0 || sh.filesystems > snapshot.MaxFilesystems ||
		sh.interfaces < 0 || sh.interfaces > snapshot.MaxInterfaces {
		fmt.Fprintf(stderr, "-cores at most %d, -filesystems at most %d, -interfaces at most %d (what a consumer accepts)\n",
			snapshot.MaxCores, snapshot.MaxFilesystems, snapshot.MaxInterfaces)
		return errUsage
	}
	if o.interval == 0 && o.count == 0 && o.duration == 0 {
		fmt.Fprintln(stderr, "-interval 0 publishes as fast as possible: give -count or -duration")
		return errUsage
	}
	return nil
}

// hostHeap orders hosts by their next due time.
type hostHeap []*simHost

func (h hostHeap) Len() int           { return len(h) }
func (h hostHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h hostHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hostHeap) Push(x any)        { *h = append(*h, x.(*simHost)) }
func (h *hostHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type pubStats struct {
	sent, confirmed, nacked, bytes atomic.Uint64
	minBytes, maxBytes             atomic.Int64
	maxLate                        atomic.Int64
}

func (s *pubStats) size(n int) {
	s.bytes.Add(uint64(n))
	for {
		m := s.minBytes.Load()
		if (m != 0 && int64(n) >= m) || s.minBytes.CompareAndSwap(m, int64(n)) {
			break
		}
	}
	for {
		m := s.maxBytes.Load()
		if int64(n) <= m || s.maxBytes.CompareAndSwap(m, int64(n)) {
			break
		}
	}
}

// publish builds the fleet, runs one run per connection (their hosts
// spread evenly), reports progress and sums up.
func publish(ctx context.Context, o publishOpts, stderr io.Writer,
	run func(ctx context.Context, hosts []*simHost, st *pubStats, budget *atomic.Int64) error) (*PublishSummary, error) {
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var st pubStats
	var budget atomic.Int64 // messages left when -count is given
	budget.Store(int64(o.count))
	start := time.Now()

	// Hosts are built up front: a run's fleet is the same whatever the
	// number of connections.
	perConn := make([][]*simHost, o.conns)
	for i := range o.hosts {
		h := newSimHost(i, fmt.Sprintf("%s%05d", o.prefix, i+1), o.shape, o.interval, o.seed)
		if o.interval > 0 {
			// Each host has its own interval and phase, spread evenly.
			h.interval = time.Duration(float64(o.interval) * (1 + o.jitter*(2*h.rng.Float64()-1)))
			h.due = start.Add(time.Duration(float64(o.interval) * float64(i) / float64(o.hosts)))
		}
		perConn[i%o.conns] = append(perConn[i%o.conns], h)
	}

	var wg sync.WaitGroup
	errs := make(chan error, o.conns)
	for c := range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx, perConn[c], &st, &budget); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	stopReport := make(chan struct{})
	var reportWG sync.WaitGroup
	if o.report > 0 {
		reportWG.Add(1)
		go func() {
			defer reportWG.Done()
			t := time.NewTicker(o.report)
			defer t.Stop()
			var last uint64
			for {
				select {
				case <-stopReport:
					return
				case <-t.C:
					n := st.sent.Load()
					fmt.Fprintf(stderr, "sysmon-loadgen %s: %d sent (%.0f/s), max %.1f ms behind schedule\n",
						o.cmd, n, float64(n-last)/o.report.Seconds(), float64(st.maxLate.Load())/1e6)
					last = n
				}
			}
		}()
	}
	wg.Wait()
	close(stopReport)
	reportWG.Wait()
	el := time.Since(start).Seconds()
	sum := &PublishSummary{Hosts: o.hosts, Sent: st.sent.Load(), Confirmed: st.confirmed.Load(), Nacked: st.nacked.Load(),
		Seconds: el, MinBytes: int(st.minBytes.Load()), MaxBytes: int(st.maxBytes.Load()),
		MaxLateMillis: float64(st.maxLate.Load()) / 1e6}
	if el > 0 {
		sum.PerSecond = float64(sum.Sent) / el
	}
	if sum.Sent > 0 {
		sum.AvgBytes = float64(st.bytes.Load()) / float64(sum.Sent)
	}
	if o.interval > 0 {
		sum.TargetPerSecond = float64(o.hosts) / o.interval.Seconds()
	}
	select {
	case err := <-errs:
		return sum, err
	default:
	}
	return sum, nil
}

func publishConn(ctx context.Context, o publishOpts, hosts []*simHost, st *pubStats, budget *atomic.Int64) error {
	if len(hosts) == 0 {
		return nil
	}
	conn, err := dialBroker(o.url, "sysmon-loadgen")
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if o.declare {
		if err := ch.ExchangeDeclare(o.exchange, o.exchangeType, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare exchange %q: %w", o.exchange, err)
		}
	}
	var window []*amqp.DeferredConfirmation
	if o.confirm {
		if err := ch.Confirm(false); err != nil {
			return fmt.Errorf("enable confirms: %w", err)
		}
	}
	settle := func(dc *amqp.DeferredConfirmation) error {
		ok, err := dc.WaitContext(context.WithoutCancel(ctx))
		if err != nil {
			return err
		}
		if ok {
			st.confirmed.Add(1)
		} else {
			st.nacked.Add(1)
		}
		return nil
	}
	defer func() {
		for _, dc := range window {
			if settle(dc) != nil {
				return
			}
		}
	}()

	return pace(ctx, o, hosts, st, budget, func(s *snapshot.Snapshot, body []byte, now time.Time) error {
		msg := amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent,
			MessageId: s.MessageID(), Timestamp: now, AppId: "sysmon-loadgen", Type: snapshot.MessageType, Body: body}
		if !o.confirm {
			return ch.PublishWithContext(ctx, o.exchange, s.Host, false, false, msg)
		}
		if len(window) >= o.inflight {
			if err := settle(window[0]); err != nil {
				return fmt.Errorf("confirm: %w", err)
			}
			window = window[1:]
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, o.exchange, s.Host, false, false, msg)
		if err != nil {
			return err
		}
		window = append(window, dc)
		return nil
	})
}

// pace takes each of hosts' snapshots when it is due (round robin, as fast
// as send goes, with -interval 0), encodes it and hands it to send: the
// broker for publish, the consumer's fleet for serve.
func pace(ctx context.Context, o publishOpts, hosts []*simHost, st *pubStats, budget *atomic.Int64,
	send func(s *snapshot.Snapshot, body []byte, now time.Time) error) error {
	h := hostHeap(hosts)
	heap.Init(&h)
	for k := 0; ctx.Err() == nil; k++ {
		if o.count > 0 && budget.Add(-1) < 0 {
			return nil
		}
		host := h[0]
		if o.interval == 0 {
			host = hosts[k%len(hosts)] // as fast as possible: round robin
		} else {
			if wait := time.Until(host.due); wait > 200*time.Microsecond {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil
				case <-t.C:
				}
			}
		}
		now := time.Now()
		if o.interval > 0 {
			if late := now.Sub(host.due); late > time.Duration(st.maxLate.Load()) {
				st.maxLate.Store(int64(late))
			}
			host.due = host.due.Add(host.interval)
			if host.due.Before(now) {
				host.due = now // hopelessly behind: do not burst to catch up
			}
			heap.Fix(&h, 0)
		}
		s := host.next(now)
		body, err := snapshot.Encode(s)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		if err := send(s, body, now); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("publish: %w", err)
		}
		st.sent.Add(1)
		st.size(len(body))
	}
	return nil
}
