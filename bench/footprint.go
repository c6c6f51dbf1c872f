package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// publisherFootprint (issue 16, "the agent"): sysmon-publisher and collectd
// sample the same host at a 1 s interval and publish to the local broker in
// the same window, each to its own exchange and durable queue; CPU over the
// window (schedstat, every thread), RSS at its end, and the wake-ups
// (context switches of every thread) of both. The machine is shared, so
// only the ratio measured in one window means something.
func (b *bench) publisherFootprint() ([]Figure, error) {
	ex, q := b.name("footprint"), b.name("footprint.q")
	cex, cq := b.name("footprint.collectd"), b.name("footprint.collectd.q")
	defer b.cleanup(ex, q)
	defer b.cleanup(cex, cq)
	if err := b.declareQueue(ex, q, amqp.Table{"x-max-length": int64(1000), "x-overflow": "drop-head"}); err != nil {
		return nil, err
	}
	// collectd sends one message per value list, about 60 a second here.
	if err := b.declareQueue(cex, cq, amqp.Table{"x-max-length": int64(1_000_000), "x-overflow": "drop-head"}); err != nil {
		return nil, err
	}
	// The floor: the Go runtime, net/http and amqp091 doing the core of the
	// publisher's work, without sysmon's (bench/floor).
	fex, fq := b.name("footprint.floor"), b.name("footprint.floor.q")
	defer b.cleanup(fex, fq)
	if err := b.declareQueue(fex, fq, amqp.Table{"x-max-length": int64(1000), "x-overflow": "drop-head"}); err != nil {
		return nil, err
	}
	floor, err := b.start("footprint", "sysmon-floor", "-url", b.opts.url, "-exchange", fex)
	if err != nil {
		return nil, err
	}
	defer floor.stop()
	cd, err := b.startCollectd("footprint", cex)
	if err != nil {
		return nil, err
	}
	defer cd.stop()
	pub, base, err := b.startDaemon("footprint", "sysmon-publisher", map[string]string{
		"EXCHANGE_NAME": ex, "PUBLISH_INTERVAL": "1s", "HOST_NAME": "bench-footprint"})
	if err != nil {
		return nil, err
	}
	defer pub.stop()
	if err := b.sleep(3 * time.Second); err != nil {
		return nil, err
	}
	for _, p := range []*proc{cd, floor} {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited: %v (see %s)", p.name, p.err, p.log)
		default:
		}
	}
	type published struct {
		Snapshots struct {
			Published uint64 `json:"published_total"`
		} `json:"snapshots"`
	}
	var c0, c1 published
	getJSON(base+"/", &c0)
	d0, err := b.depth(cq)
	if err != nil {
		return nil, err
	}
	pid, cpid, fpid := pub.cmd.Process.Pid, cd.cmd.Process.Pid, floor.cmd.Process.Pid
	m, cm, fm := meter(pub), meter(cd), meter(floor)
	w0, cw0 := wakeups(pid), wakeups(cpid)
	if err := b.sleep(b.opts.footprint); err != nil {
		return nil, err
	}
	cpu, ccpu, fcpu := m.percent(), cm.percent(), fm.percent()
	w1, cw1 := wakeups(pid), wakeups(cpid)
	el := time.Since(m.t0).Seconds()
	rss, peak := memory(pid)
	crss, _ := memory(cpid)
	anon, file := rssParts(pid)
	frss, _ := memory(fpid)
	fanon, ffile := rssParts(fpid)
	getJSON(base+"/", &c1)
	d1, err := b.depth(cq)
	if err != nil {
		return nil, err
	}
	n, cn := c1.Snapshots.Published-c0.Snapshots.Published, d1-d0
	if cn <= 0 {
		return nil, fmt.Errorf("collectd published nothing to %s in %s (see %s)", cex, b.opts.footprint, cd.log)
	}
	ratio := cpu / ccpu
	wps, cwps := float64(w1-w0)/el, float64(cw1-cw0)/el
	return []Figure{{
		ID: "publisher_footprint", Figure: fmt.Sprintf("publisher CPU and RSS beside collectd, 1 s interval, %s", b.opts.footprint),
		Measured: fmt.Sprintf("%.3f%% of a core = %.2f× collectd, RSS %.1f MiB (peak %.1f; anon %.1f, file %.1f), %.1f wake-ups/s, %d snapshots",
			cpu, ratio, float64(rss)/mib, float64(peak)/mib, float64(anon)/mib, float64(file)/mib, wps, n),
		Target: "CPU ≤ 0.3× collectd, RSS ≤ 8 MiB",
		Baseline: fmt.Sprintf("collectd 5.12 (cpu, memory, swap, df, load, interface, disk, uptime, amqp JSON persistent): %.3f%%, RSS %.1f MiB, %.1f wake-ups/s, %d messages",
			ccpu, float64(crss)/mib, cwps, cn),
		Met: ptr(ratio <= 0.3 && float64(rss) <= 8*mib),
		Note: fmt.Sprintf("what bounds the RSS: the Go floor (bench/floor: HTTP listener, amqp091 with confirms, a JSON message a second) "+
			"has RSS %.1f MiB (anon %.1f, file %.1f) and uses %.3f%% of a core in the same window", float64(frss)/mib, float64(fanon)/mib, float64(ffile)/mib, fcpu),
		Values: map[string]float64{"cpu_percent": cpu, "cpu_ratio": ratio, "rss_mib": float64(rss) / mib, "peak_rss_mib": float64(peak) / mib,
			"rss_anon_mib": float64(anon) / mib, "rss_file_mib": float64(file) / mib, "wakeups_per_s": wps, "snapshots": float64(n),
			"floor_rss_mib": float64(frss) / mib, "floor_rss_anon_mib": float64(fanon) / mib, "floor_rss_file_mib": float64(ffile) / mib,
			"floor_cpu_percent":    fcpu,
			"collectd_cpu_percent": ccpu, "collectd_rss_mib": float64(crss) / mib, "collectd_wakeups_per_s": cwps, "collectd_messages": float64(cn)},
	}}, nil
}

// wakeups counts the context switches of every thread of pid so far: each
// is a thread going to sleep or being put off the CPU.
func wakeups(pid int) int64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var n int64
	for _, t := range tasks {
		for _, v := range statusFields(t, "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches") {
			n += v
		}
	}
	return n
}

// rssParts splits the resident set into anonymous pages (heap, stacks, the
// Go runtime's) and file pages (mostly the binary's text and data).
func rssParts(pid int) (anon, file int64) {
	v := statusFields(fmt.Sprintf("/proc/%d/status", pid), "RssAnon", "RssFile")
	return v[0] << 10, v[1] << 10
}

// statusFields reads the first number of each named line of a
// /proc/…/status file.
func statusFields(path string, keys ...string) []int64 {
	out := make([]int64, len(keys))
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for i, key := range keys {
			if k == key {
				if f := strings.Fields(v); len(f) > 0 {
					out[i], _ = strconv.ParseInt(f[0], 10, 64)
				}
			}
		}
	}
	return out
}

// collectdBin is Debian's collectd (package collectd-core; bench.mk installs
// it with the libraries of the amqp and disk plugins).
const collectdBin = "/usr/sbin/collectd"

// collectdConf is the agent sysmon-publisher is measured against (issue 16):
// collectd 5.12 sampling what sysmon samples, every second, and publishing
// each value list as JSON, persistent, to its own exchange on the local
// broker. Its log goes to stderr, which the bench keeps.
const collectdConf = `Hostname "bench-collectd"
FQDNLookup false
BaseDir %[1]q
PIDFile %[2]q
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval 1

LoadPlugin logfile
<Plugin logfile>
  LogLevel "warning"
  File STDERR
</Plugin>

LoadPlugin cpu
<Plugin cpu>
  ReportByCpu true
  ReportByState true
  ValuesPercentage true
</Plugin>
LoadPlugin memory
LoadPlugin swap
LoadPlugin df
LoadPlugin load
LoadPlugin interface
LoadPlugin disk
LoadPlugin uptime

LoadPlugin amqp
<Plugin amqp>
  <Publish "sysmon-bench">
    Host %[3]q
    Port %[4]q
    VHost %[5]q
    User %[6]q
    Password %[7]q
    Exchange %[8]q
    Persistent true
    Format "JSON"
    StoreRates false
  </Publish>
</Plugin>
`

// startCollectd runs collectd in the foreground, publishing to exchange
// (which the caller declares and deletes).
func (b *bench) startCollectd(step, exchange string) (*proc, error) {
	if _, err := os.Stat(collectdBin); err != nil {
		return nil, fmt.Errorf("collectd missing (make bench installs Debian's collectd-core): %w", err)
	}
	u, err := url.Parse(b.opts.url)
	if err != nil {
		return nil, fmt.Errorf("broker URL: %w", err)
	}
	port := u.Port()
	if port == "" {
		port = "5672"
	}
	vhost := strings.TrimPrefix(u.Path, "/")
	if vhost == "" {
		vhost = "/"
	}
	pw, _ := u.User.Password()
	dir := filepath.Join(b.tmp, "collectd-"+step)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "collectd.conf")
	text := fmt.Sprintf(collectdConf, dir, filepath.Join(dir, "collectd.pid"),
		u.Hostname(), port, vhost, u.User.Username(), pw, exchange)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	// -f: stay in the foreground, so that the PID measured is collectd's.
	return b.startCmd(step, "collectd", exec.Command(collectdBin, "-f", "-C", conf))
}
