package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// TestFaultSilentNetwork: a proxy of the test's own between the daemons and
// the broker stops passing packets but keeps the connections open. The
// shared broker is fine here: only the test's proxy misbehaves.
//
// The same run covers the watchdog (12): while the network is silent the
// publisher's broker loop sits in a connection handshake that cannot finish
// (bounded by a 10 s timeout), so with a 2 s watchdog the loop counts as
// stuck and WATCHDOG=1 must stop until it moves again.
func TestFaultSilentNetwork(t *testing.T) {
	faultTest(t)
	url := brokertest.Shared(t)
	px := startProxy(t, strings.TrimSuffix(strings.TrimPrefix(url, "amqp://guest:guest@"), "/"))
	const heartbeat = 2 * time.Second
	r := startRig(t, px.URL(), px.URL(), nil, nil, "WATCHDOG_USEC=2000000")
	time.Sleep(time.Second)
	r.pubN.WaitSince(t, time.Now(), "WATCHDOG=1", 10*time.Second)

	frozen := time.Now()
	px.Freeze()
	r.pub.WaitLog(t, "broker connection ended", 1, 30*time.Second)
	detP := time.Since(frozen)
	r.cons.WaitLog(t, "broker connection ended", 1, 30*time.Second)
	detC := time.Since(frozen)
	// Detected within about three heartbeats (amqp091 gives the broker
	// three intervals), plus a margin for the loaded machine.
	if limit := 3*heartbeat + 4*time.Second; detP > limit || detC > limit {
		t.Errorf("silence detected after %v / %v, want within about 3 heartbeats (%v)", detP, detC, limit)
	}
	// The watchdog: the reconnect handshake hangs, the loop stops beating.
	r.pub.WaitLog(t, "main loop stuck", 1, 30*time.Second)
	stuckAt := time.Now()
	time.Sleep(2 * time.Second)
	px.Thaw()
	thawed := time.Now()
	dp := waitReadyFrom(t, r.pub, thawed, 30*time.Second)
	dc := waitReadyFrom(t, r.cons, thawed, 30*time.Second)
	if max(dp, dc) > reconnectBound {
		t.Errorf("reconnect took %v / %v after the network came back (cap 1s)", dp, dc)
	}
	r.pubN.WaitSince(t, thawed, "WATCHDOG=1", 20*time.Second)
	// Pings come every second when healthy; around the stuck log there must
	// be a gap of well over that.
	var gap time.Duration
	var last time.Time
	for _, m := range r.pubN.Since(frozen, "WATCHDOG=1") {
		if !last.IsZero() && m.At.After(stuckAt.Add(-10*time.Second)) {
			gap = max(gap, m.At.Sub(last))
		}
		last = m.At
	}
	if gap < 2500*time.Millisecond {
		t.Errorf("WATCHDOG=1 kept coming while the broker loop was stuck (largest gap %v)", gap)
	}
	a := r.settle(t, 0)
	record(t, faultRow{Fault: "3. silent network (proxy frozen ~15 s)", Recovery: fmt.Sprintf("detected %s / %s, back %s", secs(detP), secs(detC), secs(max(dp, dc))),
		Confirmed: a.Confirmed, Delivered: a.Delivered, Lost: a.Lost, Dups: r.dups(t),
		Note: "heartbeat 2s; detection times publisher / consumer; a snapshot in flight when the network froze is re-sent (a duplicate if the broker had it)"})
	record(t, faultRow{Fault: "12. watchdog: broker loop stuck in a handshake", Recovery: "pings back " + secs(time.Since(thawed)),
		Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1,
		Note: fmt.Sprintf("WATCHDOG_USEC=2s: no WATCHDOG=1 for %s while stuck, \"main loop stuck\" logged, pings resume after", secs(gap))})
}

// TestFaultConsumerKilled: SIGKILL the consumer and restart it while
// publishing goes on. The durable queue keeps the backlog: nothing is lost
// while it fits in QUEUE_MAX_LENGTH; beyond it the oldest are dropped
// (drop-head), exactly as many as overflowed. Killing a daemon breaks no
// broker: the shared one is used, through a proxy that holds the restarted
// consumer off until its WebSocket client is connected.
func TestFaultConsumerKilled(t *testing.T) {
	faultTest(t)
	url := brokertest.Shared(t)
	px := startProxy(t, strings.TrimSuffix(strings.TrimPrefix(url, "amqp://guest:guest@"), "/"))
	const maxLen = 40
	r := startRig(t, url, px.URL(), nil, Env{"QUEUE_MAX_LENGTH": fmt.Sprint(maxLen)})
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	depth := func() int {
		q, err := ch.QueueDeclarePassive(r.queue, true, false, false, false, nil)
		if err != nil {
			t.Fatalf("inspect queue: %v", err)
		}
		return q.Messages
	}
	kill := func() uint64 {
		r.consumerDups += int(consInfo(t, r.cons).Messages.Duplicates)
		r.cons.Kill()
		px.SetDown(true)
		return pubInfo(t, r.pub).Snapshots.Published
	}
	// restart returns the last snapshot published while no consumer took
	// the queue (counted once the new one is ready: until then publishing
	// goes on into the full queue, and drop-head drops as many of the
	// oldest) and how long the consumer took to be ready.
	restart := func() (uint64, time.Duration) {
		r.restartConsumer(t, "")
		at := time.Now()
		px.SetDown(false)
		rec := waitReadyFrom(t, r.cons, at, 30*time.Second)
		return pubInfo(t, r.pub).Snapshots.Published, rec
	}

	// A: a backlog shorter than the limit: zero loss.
	time.Sleep(time.Second)
	kill()
	time.Sleep(2500 * time.Millisecond)
	backlogA := depth()
	_, recA := restart()
	time.Sleep(time.Second)

	// B: a backlog longer than the limit: the queue holds maxLen.
	lo := kill()
	waitFor(t, 30*time.Second, "the backlog to pass the limit", func() bool {
		return pubInfo(t, r.pub).Snapshots.Published >= lo+maxLen+20
	})
	backlogB := depth()
	if backlogB != maxLen {
		t.Errorf("queue depth %d with the consumer dead, want the limit %d", backlogB, maxLen)
	}
	hi, recB := restart()
	a := r.settleWith(t, func(missing []uint64) int {
		// Drop-head drops the oldest of the window; up to a prefetch window
		// of unacked messages may join the backlog on the kill.
		n := 0
		for _, s := range missing {
			if s+5 >= lo && s <= hi {
				n++
			}
		}
		return min(n, int(hi-lo)+5-maxLen)
	})
	record(t, faultRow{Fault: "7. consumer SIGKILL + restart ×2 (durable queue)", Recovery: fmt.Sprintf("%s / %s", secs(recA), secs(recB)),
		Confirmed: a.Confirmed, Delivered: a.Delivered, Lost: a.Lost, Dups: r.dups(t),
		Note: fmt.Sprintf("backlog %d (< limit): all delivered; backlog of %d held at QUEUE_MAX_LENGTH=%d: %d oldest dropped by drop-head (by design)",
			backlogA, hi-lo, maxLen, len(a.Missing))})
}
