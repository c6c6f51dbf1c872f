package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"
)

// snapshotTimeKey is the snapshot's own "time" (the publisher's clock), which
// the bare consumer reads from the message body; dashboards read it from the
// entry's figures (watch.go's timeKey).
var snapshotTimeKey = []byte(`"time":"`)

// ConsumeSummary is what consume prints when it ends.
type ConsumeSummary struct {
	Received   uint64  `json:"received"`
	Bytes      uint64  `json:"bytes"`
	Seconds    float64 `json:"seconds"` // first to last message
	PerSecond  float64 `json:"per_second"`
	Ack        string  `json:"ack"`
	Prefetch   int     `json:"prefetch"`
	Measured   int     `json:"measured,omitempty"`
	LatencyP50 float64 `json:"latency_ms_p50,omitempty"`
	LatencyP99 float64 `json:"latency_ms_p99,omitempty"`
	LatencyMax float64 `json:"latency_ms_max,omitempty"`
	// With -every: how often each host (routing key) arrived after -skip,
	// the reference for what dashboards can receive (watch -every).
	Hosts        int     `json:"hosts,omitempty"`
	HostsLate    int     `json:"hosts_late,omitempty"` // hosts with a gap longer than -every
	LateGaps     uint64  `json:"late_gaps,omitempty"`
	GapMillisMax float64 `json:"gap_ms_max,omitempty"`
}

func runConsume(ctx context.Context, args []string, stdout, stderr io.Writer) (any, error) {
	fs := newFlags("consume", `Drains a queue with a bare amqp091-go consumer that does nothing with the
messages: what the broker and the client library alone achieve on this machine,
to compare with sysmon-consumer's figures. Acknowledgements are manual and
cover several deliveries at once (multiple=true, every half prefetch window or
after 10 ms of quiet), as sysmon-consumer does; -ack auto uses auto-ack.
Without -queue it declares a private queue bound to -exchange.`, stderr)
	url := fs.String("url", defaultAMQP, "AMQP `URL` of the broker")
	exchange := fs.String("exchange", "system_info", "exchange to bind a private queue to (without -queue)")
	queue := fs.String("queue", "", "existing queue to drain")
	prefetch := fs.Int("prefetch", 500, "unacknowledged deliveries in flight (QUEUE_PREFETCH)")
	ack := fs.String("ack", "multi", "multi (manual, multiple=true, like sysmon-consumer) or auto")
	count := fs.Uint64("count", 0, "stop after this many messages (0: no limit)")
	duration := fs.Duration("duration", 0, "stop after this long (0: no limit)")
	idle := fs.Duration("idle", 0, "stop when no message came for this long after the first (0: never)")
	every := fs.Duration("every", 0, "check that each host (routing key) arrives at least this often (0: no check)")
	skip := fs.Duration("skip", 0, "with -every: ignore this first part (warm-up)")
	latency := fs.Bool("latency", false, `measure publish-to-receipt latency from the snapshot's "time"`)
	fs.Bool("json", false, "print the summary as one line of JSON")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if *ack != "multi" && *ack != "auto" {
		fmt.Fprintln(stderr, "-ack must be multi or auto")
		return nil, errUsage
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	conn, err := dialBroker(*url, "sysmon-loadgen consume")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Qos(*prefetch, 0, false); err != nil {
		return nil, fmt.Errorf("set prefetch: %w", err)
	}
	q := *queue
	if q == "" {
		if err := ch.ExchangeDeclare(*exchange, "fanout", true, false, false, false, nil); err != nil {
			return nil, fmt.Errorf("declare exchange %q: %w", *exchange, err)
		}
		dq, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return nil, fmt.Errorf("declare queue: %w", err)
		}
		if err := ch.QueueBind(dq.Name, "#", *exchange, false, nil); err != nil {
			return nil, fmt.Errorf("bind queue: %w", err)
		}
		q = dq.Name
	}
	deliveries, err := ch.Consume(q, "", *ack == "auto", false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("consume from %q: %w", q, err)
	}
	fmt.Fprintf(stderr, "sysmon-loadgen consume: consuming from %s\n", q)

	sum := &ConsumeSummary{Ack: *ack, Prefetch: *prefetch}
	var first, last time.Time
	var lat []float64
	pending, flushEvery := 0, max(1, *prefetch/2)
	var lastTag uint64
	flush := func() {
		if pending > 0 {
			_ = ch.Ack(lastTag, true)
			pending = 0
		}
	}
	gaps := map[string]*hostGaps{}
	from := time.Now().Add(*skip)
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	var idleC <-chan time.Time
	var idleT *time.Ticker
	if *idle > 0 {
		idleT = time.NewTicker(*idle / 4)
		defer idleT.Stop()
		idleC = idleT.C
	}
loop:
	for {
		select {
		case d, ok := <-deliveries:
			if !ok {
				break loop
			}
			now := time.Now()
			if sum.Received == 0 {
				first = now
			}
			last = now
			sum.Received++
			sum.Bytes += uint64(len(d.Body))
			if *every > 0 && now.After(from) {
				g := gaps[d.RoutingKey]
				if g == nil {
					g = &hostGaps{last: from}
					gaps[d.RoutingKey] = g
				}
				g.see(now, *every)
			}
			if *latency {
				if i := bytes.Index(d.Body, snapshotTimeKey); i >= 0 {
					rest := d.Body[i+len(snapshotTimeKey):]
					if j := bytes.IndexByte(rest, '"'); j > 0 {
						if t, err := time.Parse(time.RFC3339Nano, string(rest[:j])); err == nil {
							lat = append(lat, float64(now.Sub(t).Microseconds())/1000)
						}
					}
				}
			}
			if *ack == "multi" {
				lastTag = d.DeliveryTag
				pending++
				if pending >= flushEvery {
					flush()
				} else if pending == 1 {
					quiet.Reset(10 * time.Millisecond)
				}
			}
			if *count > 0 && sum.Received >= *count {
				break loop
			}
		case <-quiet.C:
			flush()
		case <-idleC:
			if sum.Received > 0 && time.Since(last) > *idle {
				break loop
			}
		case <-ctx.Done():
			break loop
		}
	}
	flush()
	if *every > 0 {
		end := time.Now()
		sum.Hosts = len(gaps)
		for _, g := range gaps {
			g.see(end, *every)
			sum.LateGaps += g.late
			if g.late > 0 {
				sum.HostsLate++
			}
			sum.GapMillisMax = max(sum.GapMillisMax, float64(g.gap.Microseconds())/1000)
		}
	}
	sum.Seconds = last.Sub(first).Seconds()
	if sum.Seconds > 0 {
		sum.PerSecond = float64(sum.Received-1) / sum.Seconds
	}
	if *latency {
		sum.Measured = len(lat)
		sum.LatencyP50, sum.LatencyP99, sum.LatencyMax = percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 1)
	}
	return sum, nil
}

// hostGaps is when a host last arrived and its longest gap.
type hostGaps struct {
	last time.Time
	gap  time.Duration
	late uint64
}

func (g *hostGaps) see(now time.Time, every time.Duration) {
	d := now.Sub(g.last)
	g.gap = max(g.gap, d)
	if d > every {
		g.late++
	}
	g.last = now
}
