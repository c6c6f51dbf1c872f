package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Issue 16's scale figures: a fleet of any size and interval on one
// consumer (fleetFigure: the 10,000-host fleet at 1 Hz and 100,000 hosts at
// 10 s), 1,000 dashboards on one consumer, and the parts of the forward merge
// (docs/sharding.md).

// fleetCase is one fleet run and its targets.
type fleetCase struct {
	id              string
	hosts           int
	interval, total time.Duration
	rssMiB, stateMs float64 // targets
}

// historyPoints is the consumer's in-memory window (HISTORY_SIZE's default).
const historyPoints = 300

// fleetFigure runs c's fleet against one consumer with the fleet dashboards
// connected, then times the state a new dashboard receives. It keeps up if
// the queue never holds more than one second of the fleet's traffic and ends
// with less than a fifth of one.
func (b *bench) fleetFigure(c fleetCase) (Figure, *fleetRun, error) {
	r, err := b.runFleet(strings.TrimPrefix(c.id, "fleet_"), c.hosts, c.interval, b.opts.fleetDashboards, false, c.total, true)
	if err != nil {
		return Figure{}, nil, err
	}
	perSecond := float64(c.hosts) / c.interval.Seconds()
	window := time.Duration(historyPoints) * c.interval
	histNote := fmt.Sprintf("history window full (%d points every %s = %s)", historyPoints, c.interval, window)
	if c.total < window {
		histNote = fmt.Sprintf("history window %.0f%% full (%d points every %s take %s): RSS grows until then",
			100*c.total.Seconds()/window.Seconds(), historyPoints, c.interval, window)
	}
	keepsUp := float64(r.maxDepth) <= perSecond && float64(r.lastDepth) <= perSecond/5
	// A load the machine could not generate measures nothing against
	// the target: not met, whatever the consumer did with what came.
	loaded := r.published >= 0.9*perSecond
	if !loaded {
		histNote = fmt.Sprintf("the load generator reached %.0f%% of the load: the targets are not measured at it; ", 100*r.published/perSecond) + histNote
	}
	rate := "1 Hz"
	if c.interval != time.Second {
		rate = "a " + c.interval.String() + " interval"
	}
	return Figure{
		ID: c.id, Figure: fmt.Sprintf("%d hosts at %s for %s, %d dashboards", c.hosts, rate, c.total, b.opts.fleetDashboards),
		Measured: fmt.Sprintf("%.0f snapshots/s filed, queue depth max %d (end %d); RSS %.0f MiB (peak %.0f; Go heap %.0f, hosts as accounted %.0f); CPU %.0f%%; new dashboard state %.0f ms (max %.0f, %d hosts, %.1f MiB)",
			r.rate, r.maxDepth, r.lastDepth, r.finalRSS, r.finalPeak, r.heapMiB, r.hostsMiB, r.cpu, r.stateMs, r.stateMaxMs, r.stateHosts, float64(r.stateBytes)/mib),
		Target: fmt.Sprintf("keeps up (queue ≤ 1 s of traffic, %.0f), RSS ≤ %s, state ≤ %s", perSecond, sizeMiB(c.rssMiB),
			time.Duration(c.stateMs*float64(time.Millisecond))),
		Baseline: fmt.Sprintf("load generator published %.0f/s of %.0f/s (%.0f B avg; max %.0f ms behind schedule); machine %.0f%% busy", r.published, perSecond, r.avgBytes, r.maxLate, r.machine),
		Met:      ptr(loaded && keepsUp && r.finalRSS <= c.rssMiB && r.stateMs <= c.stateMs),
		Values: map[string]float64{"per_second": r.rate, "max_queue_depth": float64(r.maxDepth), "end_queue_depth": float64(r.lastDepth),
			"rss_mib": r.finalRSS, "peak_rss_mib": r.finalPeak, "cpu_percent": r.cpu, "state_ms_p50": r.stateMs, "state_ms_max": r.stateMaxMs,
			"state_hosts": float64(r.stateHosts), "state_bytes": float64(r.stateBytes), "dashboards_dropped": float64(r.dropped),
			"latency_p50_ms": r.latP50, "latency_p99_ms": r.latP99, "published_per_second": r.published, "target_per_second": perSecond,
			"heap_mib": r.heapMiB, "hosts_mib": r.hostsMiB, "machine_percent": r.machine},
		Note: histNote + fmt.Sprintf("; %d dashboards dropped as too slow", r.dropped),
	}, r, nil
}

func sizeMiB(m float64) string {
	if m >= 1024 {
		return strconv.FormatFloat(m/1024, 'f', -1, 64) + " GiB"
	}
	return fmt.Sprintf("%.0f MiB", m)
}

// hosts100k: 100,000 hosts at a 10 s interval, the 10,000-host fleet's
// message rate spread over ten times the hosts, and what one consumer can
// file at that size when the machine is its own (capacity).
func (b *bench) hosts100k() ([]Figure, error) {
	f, _, err := b.fleetFigure(fleetCase{id: "fleet_100000", hosts: 100_000, interval: 10 * time.Second,
		total: b.opts.big100k, rssMiB: 1536, stateMs: 1000})
	if err != nil {
		return nil, err
	}
	c, err := b.capacity(100_000, 3, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return []Figure{f, c}, nil
}

// capacity: the fleet runs cannot tell whether the consumer keeps up with
// the fleet's full rate when the load generator, on the same two cores,
// publishes less than that. This drains a backlog of perHost snapshots from
// each of hosts hosts (every host new to the consumer at its first) with
// one consumer, history on, no dashboard and nothing publishing: the rate
// it files at when the machine is its own, against the fleet's rate and a
// bare amqp091 consumer draining the same backlog in the same run.
func (b *bench) capacity(hosts, perHost int, interval time.Duration) (Figure, error) {
	n := hosts * perHost
	ex := b.name("capacity")
	defer b.cleanup(ex)
	state, err := os.MkdirTemp(b.tmp, "state-")
	if err != nil {
		return Figure{}, err
	}
	defer os.RemoveAll(state)
	d, err := b.drain(fmt.Sprintf("capacity%d", hosts), ex, hosts, n, state)
	if err != nil {
		return Figure{}, err
	}
	q := b.name("capacity.bare")
	defer b.cleanup("", q)
	if err := b.fillBacklog(ex, q, hosts, n); err != nil {
		return Figure{}, err
	}
	c, err := b.start("capacity", "sysmon-loadgen", "consume", "-queue", q, "-count", strconv.Itoa(n), "-json")
	if err != nil {
		return Figure{}, err
	}
	var bare struct {
		PerSecond float64 `json:"per_second"`
	}
	if err := c.wait(5*time.Minute, &bare); err != nil {
		return Figure{}, err
	}
	need := float64(hosts) / interval.Seconds()
	return Figure{
		ID:       fmt.Sprintf("fleet_%d_capacity", hosts),
		Figure:   fmt.Sprintf("one consumer draining %d snapshots from %d hosts (history on, no dashboard, nothing publishing)", n, hosts),
		Measured: fmt.Sprintf("%.0f snapshots/s (CPU %.0f%%, machine %.0f%% busy); %s", d.rate, d.cpu, d.machine, d.mem()),
		Target:   fmt.Sprintf("≥ %.0f/s, the fleet's rate at a %s interval", need, interval),
		Baseline: fmt.Sprintf("bare amqp091 consumer on the same backlog: %.0f/s", bare.PerSecond),
		Met:      ptr(d.rate >= need),
		Values: map[string]float64{"per_second": d.rate, "need_per_second": need, "baseline_per_second": bare.PerSecond,
			"cpu_percent": d.cpu, "rss_mib": d.rssMiB, "peak_rss_mib": d.peakMiB, "heap_mib": d.heapMiB, "machine_percent": d.machine},
		Note: "the consumer's ceiling at this fleet size on this machine, where the broker delivering to it shares the two cores (the fleet run above shares them with the load generator too); machine busy: every process, 100% = both cores",
	}, nil
}

// metricValue reads one unlabelled series from a daemon's /metrics.
func metricValue(base, name string) float64 {
	resp, err := httpClient.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == name {
			x, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return x
		}
	}
	return 0
}

// window is what one consumer did over a measuring window.
type window struct {
	cpu, rssMiB, filed float64 // CPU % of a core, RSS, snapshots filed a second
	maxDepth           int
}

// measure watches a consumer (and its queue) for d.
func (b *bench) measure(cons *proc, base, queue string, d time.Duration) (window, error) {
	var w window
	m := meter(cons)
	st0, err := getStatus(b.ctx, base)
	if err != nil {
		return w, err
	}
	t0 := time.Now()
	for end := t0.Add(d); time.Now().Before(end); {
		if err := b.sleep(time.Second); err != nil {
			return w, err
		}
		if n, err := b.depth(queue); err == nil {
			w.maxDepth = max(w.maxDepth, n)
		}
	}
	st1, err := getStatus(b.ctx, base)
	if err != nil {
		return w, err
	}
	w.cpu = m.percent()
	rss, _ := memory(cons.cmd.Process.Pid)
	w.rssMiB = float64(rss) / mib
	w.filed = float64(st1.Fleet.Accepted-st0.Fleet.Accepted) / time.Since(t0).Seconds()
	return w, nil
}

// dashStep is one number of dashboards on the consumer of manyDashboards.
type dashStep struct {
	n                            int
	win                          window  // after the clients connected
	cpu, clientCPU, machine      float64 // from the first connection to the end
	complete                     int
	gapP50, gapMax               float64
	frames, mibps, needMiBps     float64
	connected, closedEarly, late int
	reasons                      []string
}

// manyDashboards: 1,000 dashboards on one consumer at 1,000 hosts × 1 Hz,
// each checking that it receives every host at least once a second (one
// WS_TICK allowed for the tick an update waits for); the baseline is the
// same consumer on the same stream before the dashboards connect, and a
// tenth of the dashboards shows how the cost grows.
func (b *bench) manyDashboards() ([]Figure, error) {
	const hosts = 1000
	n := b.opts.manyDashboards
	ex, q := b.name("dashboards1000"), b.name("dashboards1000.q")
	defer b.cleanup(ex, q)
	cons, base, err := b.startDaemon("dashboards1000", "sysmon-consumer", map[string]string{
		"EXCHANGE_NAME": ex, "QUEUE_NAME": q, "QUEUE_EXPIRES": "1h", "WS_TICK": "250ms"})
	if err != nil {
		return nil, err
	}
	defer cons.stop()
	const connect = 15 * time.Second // the clients connect over 10 s and settle
	steps := []int{max(n/10, 1), n}
	total := b.opts.warmup + b.opts.dashWindow + time.Duration(len(steps))*(connect+b.opts.dashWindow+15*time.Second)
	lg, err := b.start("dashboards1000", "sysmon-loadgen", "publish", "-exchange", ex, "-hosts", strconv.Itoa(hosts), "-interval", "1s",
		"-duration", total.String(), "-json", "-prefix", "host-")
	if err != nil {
		return nil, err
	}
	// Each ends by itself unless an error returns first.
	defer lg.stop()
	const every = 1250 * time.Millisecond // 1 s + one WS_TICK
	// The stream itself: does every host reach a bare consumer each second?
	bare, err := b.start("dashboards1000", "sysmon-loadgen", "consume", "-exchange", ex, "-every", every.String(),
		"-skip", b.opts.warmup.String(), "-duration", (total - 5*time.Second).String(), "-json")
	if err != nil {
		return nil, err
	}
	defer bare.stop()
	if err := b.sleep(b.opts.warmup); err != nil {
		return nil, err
	}
	mm := newMachineMeter()
	w0, err := b.measure(cons, base, q, b.opts.dashWindow)
	if err != nil {
		return nil, err
	}
	machine0 := mm.percent()
	var res []dashStep
	for _, k := range steps {
		st, err := b.dashboards(cons, base, q, k, hosts, connect, every)
		if err != nil {
			return nil, err
		}
		res = append(res, st)
	}
	var ls struct {
		PerSecond float64 `json:"per_second"`
		MaxLate   float64 `json:"max_late_ms"`
	}
	if err := lg.wait(time.Minute, &ls); err != nil {
		return nil, err
	}
	var bs struct {
		Hosts     int     `json:"hosts"`
		HostsLate int     `json:"hosts_late"`
		GapMax    float64 `json:"gap_ms_max"`
	}
	if err := bare.wait(time.Minute, &bs); err != nil {
		return nil, err
	}
	st, _ := getStatus(b.ctx, base)
	r := res[len(res)-1]
	share := float64(r.complete) / float64(n)
	vals := map[string]float64{"baseline_cpu_percent": w0.cpu, "baseline_rss_mib": w0.rssMiB, "baseline_per_second": w0.filed,
		"baseline_max_queue_depth": float64(w0.maxDepth), "baseline_machine_percent": machine0,
		"dropped_slow": float64(st.WebSocket.DroppedSlow), "published_per_second": ls.PerSecond,
		"stream_hosts": float64(bs.Hosts), "stream_hosts_late": float64(bs.HostsLate), "stream_gap_ms_max": bs.GapMax}
	var parts []string
	for _, x := range res {
		p := fmt.Sprintf("_%d", x.n)
		if x.n == n {
			p = ""
		}
		for k, v := range map[string]float64{"dashboards": float64(x.n), "connected": float64(x.connected), "complete": float64(x.complete),
			"complete_share": float64(x.complete) / float64(x.n), "gap_ms_p50": x.gapP50, "gap_ms_max": x.gapMax, "late_gaps": float64(x.late),
			"frames_per_second": x.frames, "mib_per_second": x.mibps, "mib_per_second_needed": x.needMiBps,
			"cpu_percent": x.win.cpu, "cpu_percent_connected": x.cpu, "rss_mib": x.win.rssMiB, "per_second": x.win.filed,
			"max_queue_depth": float64(x.win.maxDepth), "client_cpu_percent": x.clientCPU, "machine_percent": x.machine} {
			vals[k+p] = v
		}
		parts = append(parts, fmt.Sprintf("%d dashboards: %d complete (%.1f%%), longest gap p50 %.0f ms (max %.0f), %.0f frames/s, %.0f of %.0f MiB/s needed, %d closed early %v; consumer CPU %.0f%% (%.0f%% from the first connection), RSS %.0f MiB, filed %.0f/s, queue max %d; clients' process CPU %.0f%%; machine %.0f%% busy",
			x.n, x.complete, 100*float64(x.complete)/float64(x.n), x.gapP50, x.gapMax, x.frames, x.mibps, x.needMiBps, x.closedEarly, x.reasons,
			x.win.cpu, x.cpu, x.win.rssMiB, x.win.filed, x.win.maxDepth, x.clientCPU, x.machine))
	}
	return []Figure{{
		ID: "dashboards_1000", Figure: fmt.Sprintf("%d dashboards on one consumer, %d hosts at 1 Hz", n, hosts),
		Measured: fmt.Sprintf("%d of %d dashboards (%.1f%%) received every host at least once per %s (longest gap p50 %.0f ms, max %.0f); %.0f frames/s, %.0f MiB/s to the dashboards (%.0f MiB/s needed); consumer CPU %.0f%% (%.0f%% from the first connection), RSS %.0f MiB, filed %.0f/s, queue max %d; the clients' process: CPU %.0f%%; machine %.0f%% busy",
			r.complete, n, 100*share, every, r.gapP50, r.gapMax, r.frames, r.mibps, r.needMiBps, r.win.cpu, r.cpu, r.win.rssMiB, r.win.filed, r.win.maxDepth, r.clientCPU, r.machine),
		Target: fmt.Sprintf("every dashboard receives every host each second (1 s + one 250 ms tick), ingest keeps up (queue ≤ %d)", hosts),
		Baseline: fmt.Sprintf("the same consumer, 0 dashboards, same stream: CPU %.0f%%, RSS %.0f MiB, filed %.0f/s, queue max %d, machine %.0f%% busy; the stream at a bare consumer (whole run): %d of %d hosts with a gap over %s (max %.0f ms); load generator %.0f/s, at most %.0f ms behind",
			w0.cpu, w0.rssMiB, w0.filed, w0.maxDepth, machine0, bs.HostsLate, bs.Hosts, every, bs.GapMax, ls.PerSecond, ls.MaxLate),
		Met:    ptr(r.complete == n && r.win.maxDepth <= hosts),
		Values: vals,
		Note:   strings.Join(parts, "; "),
	}}, nil
}

// dashboards connects k dashboards (over 10 s) to the consumer at base and
// measures them and the consumer once they are connected.
func (b *bench) dashboards(cons *proc, base, queue string, k, hosts int, connect, every time.Duration) (dashStep, error) {
	x := dashStep{n: k}
	watch, err := b.start("dashboards1000", "sysmon-loadgen", "watch", "-url", wsURL(base), "-clients", strconv.Itoa(k),
		"-measure", "0", "-every", every.String(), "-ramp", "10s", "-skip", connect.String(),
		"-duration", (connect + b.opts.dashWindow + 10*time.Second).String(), "-json")
	if err != nil {
		return x, err
	}
	mc, mw, mm := meter(cons), meter(watch), newMachineMeter()
	if err := b.sleep(connect); err != nil {
		return x, err
	}
	if x.win, err = b.measure(cons, base, queue, b.opts.dashWindow); err != nil {
		return x, err
	}
	x.cpu, x.clientCPU, x.machine = mc.percent(), mw.percent(), mm.percent()
	var ws struct {
		Connected   int      `json:"connected"`
		ClosedEarly int      `json:"closed_early"`
		Reasons     []string `json:"close_reasons"`
		StateHosts  int      `json:"state_hosts"`
		StateBytes  int      `json:"state_bytes"`
		Frames      uint64   `json:"frames"`
		Bytes       uint64   `json:"bytes"`
		Seconds     float64  `json:"seconds"`
		Complete    int      `json:"complete_clients"`
		GapP50      float64  `json:"gap_ms_p50"`
		GapMax      float64  `json:"gap_ms_max"`
		Late        int      `json:"late_gaps"`
	}
	if err := watch.wait(time.Minute, &ws); err != nil {
		return x, err
	}
	x.complete, x.gapP50, x.gapMax, x.late = ws.Complete, ws.GapP50, ws.GapMax, ws.Late
	x.connected, x.closedEarly = ws.Connected, ws.ClosedEarly
	x.frames = float64(ws.Frames) / ws.Seconds
	x.mibps = float64(ws.Bytes) / ws.Seconds / mib
	// What every dashboard receiving every host each second takes: each
	// host's lean entry (the state frame's size per host) once a second.
	if ws.StateHosts > 0 {
		x.needMiBps = float64(k) * float64(hosts) * float64(ws.StateBytes) / float64(ws.StateHosts) / mib
	}
	x.reasons = ws.Reasons
	if len(x.reasons) > 2 {
		x.reasons = append(x.reasons[:2:2], fmt.Sprintf("and %d more", len(ws.Reasons)-2))
	}
	return x, nil
}

// forward: the parts of the forward merge (docs/sharding.md), one shard's
// share of the hosts at 1 Hz: a shard consumer forwarding each host's
// latest snapshot every FORWARD_EVERY, and the merged view reading them.
// The shard's baseline is a plain consumer on the same stream (its own
// queue), so the forwarder's cost is the difference. Partitioning by the
// consistent-hash exchange needs its plugin, which the shared broker may
// not have: TestShardsMergeIntoOneFleet runs that part on a private node.
func (b *bench) forward() ([]Figure, error) {
	hosts := b.opts.forwardHosts
	const every = 2 * time.Second
	ex, fleetEx := b.name("forward"), b.name("forward.fleet")
	qShard, qPlain, qMerged := b.name("forward.shard"), b.name("forward.plain"), b.name("forward.merged")
	defer b.cleanup(ex, qShard, qPlain)
	defer b.cleanup(fleetEx, qMerged)
	common := func(env map[string]string) map[string]string {
		env["QUEUE_EXPIRES"] = "1h"
		env["WS_TICK"] = "250ms"
		return env
	}
	merged, mergedBase, err := b.startDaemon("forward", "sysmon-consumer", common(map[string]string{
		"EXCHANGE_NAME": fleetEx, "QUEUE_NAME": qMerged,
		"HOST_STALE_MIN": (3 * every).String(), "HOST_OFFLINE_MIN": (10 * every).String()}))
	if err != nil {
		return nil, err
	}
	// Each process stops before the cleanup deletes its exchanges, also on
	// an error path: a consumer alive then would declare them again.
	defer merged.stop()
	shard, shardBase, err := b.startDaemon("forward", "sysmon-consumer", common(map[string]string{
		"EXCHANGE_NAME": ex, "QUEUE_NAME": qShard, "FORWARD_EXCHANGE": fleetEx, "FORWARD_EVERY": every.String()}))
	if err != nil {
		return nil, err
	}
	defer shard.stop()
	plain, plainBase, err := b.startDaemon("forward", "sysmon-consumer", common(map[string]string{
		"EXCHANGE_NAME": ex, "QUEUE_NAME": qPlain}))
	if err != nil {
		return nil, err
	}
	defer plain.stop()
	total := b.opts.warmup + b.opts.window + 5*time.Second
	lg, err := b.start("forward", "sysmon-loadgen", "publish", "-exchange", ex, "-hosts", strconv.Itoa(hosts), "-interval", "1s",
		"-duration", total.String(), "-json", "-prefix", "host-")
	if err != nil {
		return nil, err
	}
	defer lg.stop() // ends by itself (lg.wait) unless an error returns first
	if err := b.sleep(b.opts.warmup); err != nil {
		return nil, err
	}
	mp, mm := meter(plain), meter(merged)
	p0, _ := getStatus(b.ctx, plainBase)
	m0, _ := getStatus(b.ctx, mergedBase)
	f0 := metricValue(shardBase, "sysmon_forward_confirmed_total")
	t0 := time.Now()
	ws, err := b.measure(shard, shardBase, qShard, b.opts.window)
	if err != nil {
		return nil, err
	}
	el := time.Since(t0).Seconds()
	fwd := (metricValue(shardBase, "sysmon_forward_confirmed_total") - f0) / el
	lost := metricValue(shardBase, "sysmon_forward_dropped_total") + metricValue(shardBase, "sysmon_forward_skipped_total")
	plainCPU, mergedCPU := mp.percent(), mm.percent()
	p1, _ := getStatus(b.ctx, plainBase)
	m1, _ := getStatus(b.ctx, mergedBase)
	plainRate := float64(p1.Fleet.Accepted-p0.Fleet.Accepted) / el
	mergedRate := float64(m1.Fleet.Accepted-m0.Fleet.Accepted) / el
	plainRSS, _ := memory(plain.cmd.Process.Pid)
	mergedRSS, _ := memory(merged.cmd.Process.Pid)
	mergedDepth, _ := b.depth(qMerged)
	var ls struct {
		PerSecond float64 `json:"per_second"`
	}
	if err := lg.wait(time.Minute, &ls); err != nil {
		return nil, err
	}
	want := float64(hosts) / every.Seconds()
	perSnap := func(cpu, rate float64) float64 { // µs of CPU per snapshot filed
		if rate == 0 {
			return 0
		}
		return cpu / 100 / rate * 1e6
	}
	return []Figure{{
		ID: "forward_shard", Figure: fmt.Sprintf("forward merge: one shard, %d hosts at 1 Hz, FORWARD_EVERY=%s", hosts, every),
		Measured: fmt.Sprintf("filed %.0f/s, CPU %.1f%% (%.0f µs/snapshot), RSS %.0f MiB, queue max %d; forwarded %.0f/s confirmed, %.0f dropped or skipped",
			ws.filed, ws.cpu, perSnap(ws.cpu, ws.filed), ws.rssMiB, ws.maxDepth, fwd, lost),
		Target:   fmt.Sprintf("keeps up; forwards hosts / FORWARD_EVERY = %.0f/s, none lost", want),
		Baseline: fmt.Sprintf("plain consumer on the same stream: filed %.0f/s, CPU %.1f%% (%.0f µs/snapshot), RSS %.0f MiB (load generator %.0f/s)", plainRate, plainCPU, perSnap(plainCPU, plainRate), float64(plainRSS)/mib, ls.PerSecond),
		Met:      ptr(ws.maxDepth <= hosts && fwd >= 0.9*want && fwd <= 1.1*want && lost == 0),
		Values: map[string]float64{"per_second": ws.filed, "cpu_percent": ws.cpu, "rss_mib": ws.rssMiB, "max_queue_depth": float64(ws.maxDepth),
			"forwards_per_second": fwd, "forward_lost": lost, "baseline_per_second": plainRate, "baseline_cpu_percent": plainCPU,
			"baseline_rss_mib": float64(plainRSS) / mib},
	}, {
		ID: "forward_merged", Figure: fmt.Sprintf("forward merge: the merged view of that shard (%d hosts every %s)", hosts, every),
		Measured: fmt.Sprintf("filed %.0f/s, %d hosts, CPU %.1f%% (%.0f µs/snapshot), RSS %.0f MiB, queue at the end %d",
			mergedRate, m1.Fleet.Hosts, mergedCPU, perSnap(mergedCPU, mergedRate), float64(mergedRSS)/mib, mergedDepth),
		Target:   fmt.Sprintf("report; files what the shard forwards (%.0f/s)", fwd),
		Baseline: fmt.Sprintf("plain consumer filing every snapshot: CPU %.1f%% for %.0f/s", plainCPU, plainRate),
		Values: map[string]float64{"per_second": mergedRate, "hosts": float64(m1.Fleet.Hosts), "cpu_percent": mergedCPU,
			"rss_mib": float64(mergedRSS) / mib, "end_queue_depth": float64(mergedDepth)},
	}}, nil
}
