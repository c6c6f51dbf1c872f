package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// fillBacklog puts n snapshots of hosts simulated hosts into queue q, bound to
// exchange ex for the fill only.
func (b *bench) fillBacklog(ex, q string, hosts, n int) error {
	if err := b.declareQueue(ex, q, nil); err != nil {
		return err
	}
	lg, err := b.start("backlog", "sysmon-loadgen", "publish", "-exchange", ex, "-hosts", strconv.Itoa(hosts), "-interval", "0",
		"-count", strconv.Itoa(n), "-report", "0", "-json", "-prefix", "backlog-")
	if err != nil {
		return err
	}
	var s struct{}
	if err := lg.wait(10*time.Minute, &s); err != nil {
		return err
	}
	// Only this run's queue is bound: unbind so the next fill goes to the next queue only.
	if err := b.withChannel(func(ch *amqp.Channel) error { return ch.QueueUnbind(q, "#", ex, nil) }); err != nil {
		return err
	}
	return b.waitDepth(q, n, time.Minute)
}

// drained is one consumer's drain of a backlog.
type drained struct {
	rate, cpu, rssMiB float64
	stateBytes        int64
}

// drain starts a consumer on a filled backlog of n snapshots, with history
// kept in stateDir ("" keeps none), and measures its rate until the backlog
// is gone.
func (b *bench) drain(tag, ex string, hosts, n int, stateDir string) (drained, error) {
	q := b.name("history." + tag)
	defer b.cleanup("", q)
	if err := b.fillBacklog(ex, q, hosts, n); err != nil {
		return drained{}, err
	}
	env := map[string]string{"EXCHANGE_NAME": ex, "QUEUE_NAME": q, "QUEUE_MAX_LENGTH": "0", "QUEUE_EXPIRES": "0",
		"STATE_DIR": stateDir, "MAX_HOSTS": strconv.Itoa(2 * hosts)}
	cons, base, err := b.startDaemon("history", "sysmon-consumer", env)
	if err != nil {
		return drained{}, err
	}
	defer cons.stop()
	m := meter(cons)
	var first, last time.Time
	var firstN, lastN uint64
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) && b.ctx.Err() == nil {
		st, err := getStatus(b.ctx, base)
		if err == nil {
			got := st.Messages.Received
			if first.IsZero() && got > 0 {
				first, firstN = time.Now(), got
			}
			if got > lastN {
				last, lastN = time.Now(), got
			}
			if got >= uint64(n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	d := drained{cpu: m.percent()}
	rss, _ := memory(cons.cmd.Process.Pid)
	d.rssMiB = float64(rss) / mib
	if last.After(first) {
		d.rate = float64(lastN-firstN) / last.Sub(first).Seconds()
	}
	if lastN < uint64(n) {
		return d, fmt.Errorf("the consumer took %d of %d snapshots within 5 minutes", lastN, n)
	}
	if stateDir != "" {
		cons.stop() // its last flush and seal
		_ = filepath.Walk(stateDir, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				d.stateBytes += fi.Size()
			}
			return nil
		})
	}
	return d, nil
}

// historyCost is issue 12's first figure: ingest with history on against
// ingest with history off, the same backlog drained by the same consumer, at
// 1,000 and 10,000 hosts (no dashboards: the history's cost alone).
func (b *bench) historyCost() ([]Figure, error) {
	ex := b.name("history")
	defer b.cleanup(ex)
	var figs []Figure
	for _, hosts := range []int{1000, 10000} {
		n := max(b.opts.ingestN, 10*hosts)
		off, err := b.drain(fmt.Sprintf("off%d", hosts), ex, hosts, n, "")
		if err != nil {
			return figs, err
		}
		dir, err := os.MkdirTemp(b.tmp, "state-")
		if err != nil {
			return figs, err
		}
		on, err := b.drain(fmt.Sprintf("on%d", hosts), ex, hosts, n, dir)
		_ = os.RemoveAll(dir)
		if err != nil {
			return figs, err
		}
		ratio := 0.0
		if off.rate > 0 {
			ratio = on.rate / off.rate
		}
		figs = append(figs, Figure{
			ID:     fmt.Sprintf("history_ingest_%d", hosts),
			Figure: fmt.Sprintf("consumer ingest from a backlog with history on, %d hosts", hosts),
			Measured: fmt.Sprintf("%.0f snapshots/s = %.2f × history off (CPU %.0f%%, RSS %.0f MiB; store %.1f MiB after %d snapshots)",
				on.rate, ratio, on.cpu, on.rssMiB, float64(on.stateBytes)/mib, n),
			Target:   "≥ 0.8 × history off",
			Baseline: fmt.Sprintf("the same consumer and backlog, history off (STATE_DIR empty): %.0f/s (CPU %.0f%%, RSS %.0f MiB)", off.rate, off.cpu, off.rssMiB),
			Met:      ptr(ratio >= 0.8),
			Values: map[string]float64{"per_second": on.rate, "baseline_per_second": off.rate, "ratio": ratio,
				"rss_mib": on.rssMiB, "baseline_rss_mib": off.rssMiB, "store_bytes": float64(on.stateBytes)},
			Note: fmt.Sprintf("%d snapshots from %d simulated hosts, no dashboards", n, hosts),
		})
	}
	return figs, nil
}
