package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// WatchSummary is what watch prints when it ends.
type WatchSummary struct {
	Clients        int      `json:"clients"`
	Connected      int      `json:"connected"`
	ClosedEarly    int      `json:"closed_early"` // by the server or the network before the end
	CloseReasons   []string `json:"close_reasons,omitempty"`
	StateMillisP50 float64  `json:"state_ms_p50"`
	StateMillisMax float64  `json:"state_ms_max"`
	StateHosts     int      `json:"state_hosts"`
	StateBytes     int      `json:"state_bytes"`
	Frames         uint64   `json:"frames"`
	Bytes          uint64   `json:"bytes"`
	Measured       int      `json:"measured_updates"`
	LatencyP50     float64  `json:"latency_ms_p50"`
	LatencyP90     float64  `json:"latency_ms_p90"`
	LatencyP99     float64  `json:"latency_ms_p99"`
	LatencyMax     float64  `json:"latency_ms_max"`
	Seconds        float64  `json:"seconds"`
	// With -every: how often each client received each host of its state
	// frame after -skip. Complete counts the clients that received every
	// one at least once per -every (no gap longer, the end included).
	Every        float64 `json:"every_ms,omitempty"`
	Complete     int     `json:"complete_clients"`
	GapMillisP50 float64 `json:"gap_ms_p50,omitempty"` // of each client's longest gap
	GapMillisMax float64 `json:"gap_ms_max,omitempty"`
	LateGaps     uint64  `json:"late_gaps,omitempty"` // gaps longer than -every, all clients
}

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) (any, error) {
	fs := newFlags("watch", `Connects -clients dashboard clients to a sysmon-consumer's WebSocket, as
browsers do. Each one times the state (the whole fleet: a "state" frame and its
"state_part" frames) until its last part; the
first -measure of them also take the latency of every update: the time it is
received minus the publisher's "time" (the entry's sampled_at) (run on the same
machine as the publishers, or on hosts with synchronised clocks). The others
read and discard, like an idle dashboard tab. -duration 0 only times the
state and exits. With -every, each client also checks that it receives every
host of its state at least that often (after -skip), as a dashboard
showing the whole fleet live needs.`, stderr)
	url := fs.String("url", "ws://127.0.0.1:8003/ws", "WebSocket `URL` of the consumer")
	clients := fs.Int("clients", 1, "dashboard clients to connect")
	measure := fs.Int("measure", 1, "clients that measure update latency (parsing costs CPU)")
	duration := fs.Duration("duration", 30*time.Second, "how long to stay connected (0: state only)")
	skip := fs.Duration("skip", 0, "ignore update latencies and gaps during this first part of -duration (warm-up)")
	ramp := fs.Duration("ramp", 0, "connect the clients evenly over this long rather than all at once")
	every := fs.Duration("every", 0, "check that each client receives every host at least this often (0: no check)")
	fs.Bool("json", false, "print the summary as one line of JSON")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if *clients < 1 {
		fmt.Fprintln(stderr, "-clients must be at least 1")
		return nil, errUsage
	}
	return watch(ctx, *url, *clients, *measure, *duration, *skip, *ramp, *every)
}

type watcher struct {
	mu          sync.Mutex
	stateTimes  []float64
	stateHosts  int
	stateBytes  int
	connected   int
	closedEarly int
	reasons     map[string]bool
	frames      uint64
	bytes       uint64
	lat         []float64
	// With -every: the hosts of the first state, by name (shared by
	// the clients, read-only once set), and each client's longest gap.
	every    time.Duration
	index    map[string]int
	gaps     []float64
	complete int
	late     uint64
}

func watch(ctx context.Context, url string, clients, measure int, duration, skip, ramp, every time.Duration) (*WatchSummary, error) {
	w := &watcher{reasons: map[string]bool{}, every: every}
	start := time.Now()
	end := start.Add(duration)
	measureFrom := start.Add(skip)
	if duration == 0 {
		end = start.Add(30 * time.Second) // state only: bound the wait for it
	}
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ramp > 0 {
				select {
				case <-time.After(ramp * time.Duration(i) / time.Duration(clients)):
				case <-ctx.Done():
					return
				}
			}
			if err := w.client(ctx, url, i < measure, duration == 0, measureFrom, end); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	sum := &WatchSummary{Clients: clients, Connected: w.connected, ClosedEarly: w.closedEarly,
		StateHosts: w.stateHosts, StateBytes: w.stateBytes, Frames: w.frames, Bytes: w.bytes,
		Measured: len(w.lat), Seconds: time.Since(start).Seconds()}
	for r := range w.reasons {
		sum.CloseReasons = append(sum.CloseReasons, r)
	}
	slices.Sort(sum.CloseReasons)
	sum.StateMillisP50, sum.StateMillisMax = percentile(w.stateTimes, 0.5), percentile(w.stateTimes, 1)
	sum.LatencyP50, sum.LatencyP90 = percentile(w.lat, 0.5), percentile(w.lat, 0.9)
	sum.LatencyP99, sum.LatencyMax = percentile(w.lat, 0.99), percentile(w.lat, 1)
	if every > 0 {
		sum.Every = float64(every.Microseconds()) / 1000
		sum.Complete, sum.LateGaps = w.complete, w.late
		sum.GapMillisP50, sum.GapMillisMax = percentile(w.gaps, 0.5), percentile(w.gaps, 1)
	}
	var first error
	for err := range errs {
		if first == nil {
			first = err
		}
	}
	return sum, first
}

// timeKey is the figure that holds the publisher's "time": a dashboard's
// entries are lean, without the snapshot (internal/hub/protocol.go).
var timeKey = []byte(`"sampled_at":"`)

func (w *watcher) client(ctx context.Context, url string, measure, stateOnly bool, measureFrom, end time.Time) error {
	t0 := time.Now()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 64 << 10}
	conn, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("dial %s: %w", url, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetReadLimit(1 << 30)
	state, err := readState(conn)
	if err != nil {
		return err
	}
	ms := float64(time.Since(t0).Microseconds()) / 1000
	w.mu.Lock()
	w.connected++
	w.stateTimes = append(w.stateTimes, ms)
	w.stateHosts = bytes.Count(state, hostKey)
	w.stateBytes = len(state)
	w.mu.Unlock()
	if stateOnly {
		return nil
	}
	var lat []float64
	var frames, n uint64
	var cov *coverage
	if w.every > 0 {
		// Gaps count from -skip: a client whose state came later missed
		// its hosts until then; the state holds every host.
		cov = w.coverage(state, measureFrom)
		if now := time.Now(); now.After(measureFrom) {
			cov.frame(state, now, w.every)
		}
	}
	defer func() {
		w.mu.Lock()
		w.frames += frames
		w.bytes += n
		w.lat = append(w.lat, lat...)
		if cov != nil {
			// A client the server closed early missed its hosts until the end.
			stopAt := end
			if now := time.Now(); ctx.Err() != nil && now.Before(end) {
				stopAt = now
			}
			gap, late := cov.finish(stopAt, w.every)
			w.gaps = append(w.gaps, float64(gap.Microseconds())/1000)
			w.late += late
			if late == 0 {
				w.complete++
			}
		}
		w.mu.Unlock()
	}()
	for {
		_, r, err := conn.NextReader()
		if err != nil {
			if ctx.Err() == nil {
				w.mu.Lock()
				w.closedEarly++
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					w.reasons[fmt.Sprintf("%d %s", ce.Code, ce.Text)] = true
				} else {
					w.reasons[err.Error()] = true
				}
				w.mu.Unlock()
			}
			return nil
		}
		frames++
		if !measure && cov == nil {
			k, _ := io.Copy(io.Discard, r)
			n += uint64(k)
			continue
		}
		b, err := io.ReadAll(r)
		now := time.Now()
		n += uint64(len(b))
		if err != nil || now.Before(measureFrom) {
			continue
		}
		if cov != nil {
			cov.frame(b, now, w.every)
		}
		if !measure {
			continue
		}
		// Every entry's figures have one "sampled_at": the publisher's clock.
		eachString(b, timeKey, func(v []byte) {
			if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
				lat = append(lat, float64(now.Sub(t).Microseconds())/1000)
			}
		})
	}
}

// moreTail ends a state frame that another part follows (the hub writes
// "more" last: internal/hub.State.WriteFrame).
var moreTail = []byte(`,"more":true}`)

// readState reads the state in all its parts (a StateFrame, then
// StatePartFrames while "more" says so), as one run of bytes: their
// entries are what a dashboard starts from, the time until the last part
// is what it waits.
func readState(conn *websocket.Conn) ([]byte, error) {
	var state []byte
	for part := 0; ; part++ {
		_, b, err := conn.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("read the state's part %d: %w", part, err)
		}
		state = append(state, b...)
		if !bytes.HasSuffix(b, moreTail) {
			return state, nil
		}
	}
}

// hostKey starts each entry of a frame (lean entries and removals alike).
var hostKey = []byte(`{"host":"`)

// coverage is one client's record of when it last received each host.
type coverage struct {
	index map[string]int
	last  []time.Time
	gap   time.Duration // the longest so far
	late  uint64        // gaps longer than every
}

// coverage starts a client's record: the hosts are those of the first state
// frame any client received (the same fleet for all of them), each counted
// as seen at from.
func (w *watcher) coverage(state []byte, from time.Time) *coverage {
	w.mu.Lock()
	if w.index == nil {
		w.index = map[string]int{}
		eachHost(state, func(name []byte) {
			if _, ok := w.index[string(name)]; !ok {
				w.index[string(name)] = len(w.index)
			}
		})
	}
	index := w.index
	w.mu.Unlock()
	c := &coverage{index: index, last: make([]time.Time, len(index))}
	for i := range c.last {
		c.last[i] = from
	}
	return c
}

func (c *coverage) frame(b []byte, now time.Time, every time.Duration) {
	eachHost(b, func(name []byte) {
		if i, ok := c.index[string(name)]; ok {
			c.see(i, now, every)
		}
	})
}

func (c *coverage) see(i int, now time.Time, every time.Duration) {
	g := now.Sub(c.last[i])
	c.gap = max(c.gap, g)
	if g > every {
		c.late++
	}
	c.last[i] = now
}

// finish closes every host's last gap at end and returns the longest gap
// and the count of gaps longer than every.
func (c *coverage) finish(end time.Time, every time.Duration) (time.Duration, uint64) {
	for i := range c.last {
		if end.After(c.last[i]) {
			c.see(i, end, every)
		}
	}
	return c.gap, c.late
}

// eachHost calls fn with the name of each entry of a frame.
func eachHost(b []byte, fn func(name []byte)) { eachString(b, hostKey, fn) }

// eachString calls fn with each string value that follows key (which ends
// with the value's opening quote) in b.
func eachString(b, key []byte, fn func(v []byte)) {
	for rest := b; ; {
		i := bytes.Index(rest, key)
		if i < 0 {
			return
		}
		rest = rest[i+len(key):]
		j := bytes.IndexByte(rest, '"')
		if j < 0 {
			return
		}
		fn(rest[:j])
		rest = rest[j:]
	}
}

// percentile of v (0 < p ≤ 1), nearest rank; v is sorted in place.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	i := int(p*float64(len(v))+0.5) - 1
	return v[min(max(i, 0), len(v)-1)]
}
