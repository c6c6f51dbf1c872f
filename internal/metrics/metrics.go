// Package metrics owns the daemons' Prometheus exposition: build info,
// broker state, the counters each daemon keeps, latency histograms, process
// figures, and the consumer's per-host fleet figures under node_exporter's
// names. Values are read from their owners at scrape time; nothing here sits
// on a hot path but two histogram observations (a few atomic adds).
//
// The text format is written here, for about thirty series, because both
// libraries tried were worse for sysmon, measured: the official client (with
// its protobuf dependencies) added about 2.5 MiB to the publisher's resident
// memory, a fifth of its 12 MiB budget, and VictoriaMetrics/metrics, light
// enough, exposes series that `promtool check metrics` rejects (no help
// text, counters named *_count). The tests run promtool on both daemons'
// real output.
package metrics

import (
	"bufio"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sysmon-dev/sysmon/internal/mq"
)

// sample is one series of a family.
type sample struct {
	labels string // {k="v",…} or ""
	value  float64
}

// family is one metric name with its help, type and current samples.
type family struct {
	name, help, typ string
	samples         func() []sample
}

// Registry is one daemon's metrics.
type Registry struct {
	fams  []family
	start time.Time
}

func (r *Registry) add(name, typ, help string, samples func() []sample) {
	r.fams = append(r.fams, family{name: name, help: help, typ: typ, samples: samples})
}

func (r *Registry) counter(name, help string, f func() uint64) {
	r.add(name, "counter", help, func() []sample { return []sample{{"", float64(f())}} })
}

func (r *Registry) gauge(name, help string, f func() float64) {
	r.add(name, "gauge", help, func() []sample { return []sample{{"", f()}} })
}

// New returns a registry with build info, process and Go runtime figures,
// and the broker connection's state for daemon ("publisher" or "consumer").
func New(daemon, version string, status *mq.Status) *Registry {
	r := &Registry{start: time.Now()}
	info := labelString([]string{"daemon", daemon, "version", version, "goversion", runtime.Version()})
	r.add("sysmon_build_info", "gauge", "Always 1; the labels say which sysmon daemon and version this is.",
		func() []sample { return []sample{{info, 1}} })
	r.counter("sysmon_broker_reconnects_total", "Connections to the broker established after the first one.",
		func() uint64 { return status.Get().Reconnects })
	r.add("sysmon_broker_state", "gauge", "1 for the broker connection's current state, 0 for the others.", func() []sample {
		cur := status.State()
		var out []sample
		for _, st := range []mq.State{mq.Connecting, mq.Connected, mq.Blocked, mq.Disconnected} {
			v := 0.0
			if st == cur {
				v = 1
			}
			out = append(out, sample{`{state="` + string(st) + `"}`, v})
		}
		return out
	})
	r.addProcess()
	return r
}

// addProcess exposes the standard process_* and go_* figures operators
// alert on, from /proc and runtime/metrics (no stop-the-world).
func (r *Registry) addProcess() {
	page := float64(os.Getpagesize())
	r.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", func() float64 {
		b, err := os.ReadFile("/proc/self/statm")
		if err != nil {
			return math.NaN()
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			return math.NaN()
		}
		pages, _ := strconv.ParseFloat(f[1], 64)
		return pages * page
	})
	r.add("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", func() []sample {
		b, err := os.ReadFile("/proc/self/stat")
		if err != nil {
			return nil
		}
		// Fields after the command name (which may hold spaces): utime is
		// the 14th field of the line, stime the 15th, in clock ticks.
		rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
		f := strings.Fields(rest)
		if len(f) < 13 {
			return nil
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		return []sample{{"", (ut + st) / 100}} // USER_HZ is 100 on Linux
	})
	r.gauge("process_open_fds", "Number of open file descriptors.", func() float64 {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return math.NaN()
		}
		return float64(len(ents))
	})
	r.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.",
		func() float64 { return float64(r.start.UnixMilli()) / 1000 })
	r.gauge("go_goroutines", "Number of goroutines that currently exist.",
		func() float64 { return float64(runtime.NumGoroutine()) })
	r.gauge("go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", func() float64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		if s[0].Value.Kind() != metrics.KindUint64 {
			return math.NaN()
		}
		return float64(s[0].Value.Uint64())
	})
}

// Histogram counts observations into fixed buckets; safe for concurrent use.
type Histogram struct {
	bounds []float64
	counts []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    atomic.Uint64   // float64 bits
}

func newHistogram(bounds []float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe records v.
func (h *Histogram) Observe(v float64) {
	h.counts[sort.SearchFloat64s(h.bounds, v)].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

func (h *Histogram) samples() []sample {
	out := make([]sample, 0, len(h.bounds)+3)
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i].Load()
		out = append(out, sample{`_bucket{le="` + strconv.FormatFloat(b, 'g', -1, 64) + `"}`, float64(cum)})
	}
	cum += h.counts[len(h.bounds)].Load()
	out = append(out, sample{`_bucket{le="+Inf"}`, float64(cum)},
		sample{"_sum", math.Float64frombits(h.sum.Load())}, sample{"_count", float64(cum)})
	return out
}

// latencyBuckets span a loopback confirm (well under a millisecond) to a
// broker in trouble (seconds).
var latencyBuckets = []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func (r *Registry) histogram(name, help string) func(time.Duration) {
	h := newHistogram(latencyBuckets)
	r.add(name, "histogram", help, h.samples)
	return func(d time.Duration) { h.Observe(max(d, 0).Seconds()) }
}

// ServeHTTP writes the Prometheus text format.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	for _, f := range r.fams {
		writeFamily(bw, f.name, f.help, f.typ, f.samples())
	}
	bw.Flush()
}

func writeFamily(bw *bufio.Writer, name, help, typ string, samples []sample) {
	bw.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
	for _, s := range samples {
		bw.WriteString(name)
		bw.WriteString(s.labels)
		bw.WriteByte(' ')
		bw.WriteString(formatValue(s.value))
		bw.WriteByte('\n')
	}
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// PublisherSources are the publisher's values.
type PublisherSources struct {
	Published, Confirmed, Dropped, RateLimited func() uint64
	Outbox                                     func() int
	// OutboxDisk tells whether the outbox is kept on disk, and the bytes
	// and fsyncs written there since start.
	OutboxDisk func() (onDisk bool, bytes, fsyncs uint64)
}

// Publisher registers the publisher's metrics and returns the function that
// records one snapshot's enqueue-to-confirm latency.
func Publisher(r *Registry, s PublisherSources) (observeConfirm func(time.Duration)) {
	r.counter("sysmon_publisher_snapshots_published_total", "Snapshots sampled and queued for the broker.", s.Published)
	r.counter("sysmon_publisher_snapshots_confirmed_total", "Snapshots the broker confirmed.", s.Confirmed)
	r.counter("sysmon_publisher_snapshots_dropped_total", "Snapshots dropped from a full outbox while the broker was away.", s.Dropped)
	r.counter("sysmon_publisher_publish_rate_limited_total", "Calls of /publish refused with 429.", s.RateLimited)
	r.gauge("sysmon_publisher_outbox_snapshots", "Snapshots waiting in the outbox for the broker's confirm.",
		func() float64 { return float64(s.Outbox()) })
	r.gauge("sysmon_publisher_outbox_on_disk", "1 when the outbox is kept on disk (OUTBOX_DIR), 0 when in memory only.",
		func() float64 {
			if on, _, _ := s.OutboxDisk(); on {
				return 1
			}
			return 0
		})
	r.counter("sysmon_publisher_outbox_disk_written_bytes_total", "Bytes written to the outbox file.",
		func() uint64 { _, b, _ := s.OutboxDisk(); return b })
	r.counter("sysmon_publisher_outbox_disk_fsyncs_total", "fsyncs of the outbox file.",
		func() uint64 { _, _, n := s.OutboxDisk(); return n })
	return r.histogram("sysmon_publisher_confirm_latency_seconds", "Time from queueing a snapshot to the broker's confirm.")
}

// ConsumerSources are the consumer's values.
type ConsumerSources struct {
	Received, Invalid, TooLarge, Duplicates, Refused func() uint64
	// Unauthenticated counts snapshots refused by HOST_IDENTITY.
	Unauthenticated func() uint64
	HostsByState    func() (live, stale, offline int)
	// HostsRemoved counts hosts forgotten: evicted to make room in a full
	// table, and expired after HOST_EXPIRE offline.
	HostsRemoved func() (evicted, expired uint64)
	// HostsMemory is the memory the hosts take, as accounted, and its budget.
	HostsMemory func() (bytes, max int64)
	WSClients   func() int64
	WSDropped   func() uint64
}

// Consumer registers the consumer's metrics and returns the function that
// records one snapshot's publish-to-receipt delay.
func Consumer(r *Registry, s ConsumerSources) (observeDelay func(time.Duration)) {
	r.counter("sysmon_consumer_snapshots_received_total", "Messages delivered by the broker.", s.Received)
	r.add("sysmon_consumer_snapshots_invalid_total", "counter", "Messages dropped as not a valid snapshot, by reason.",
		func() []sample {
			return []sample{{`{reason="invalid"}`, float64(s.Invalid())}, {`{reason="too_large"}`, float64(s.TooLarge())}}
		})
	r.counter("sysmon_consumer_snapshots_duplicate_total", "Snapshots dropped as already seen (same instance and sequence).", s.Duplicates)
	r.counter("sysmon_consumer_snapshots_refused_total", "Snapshots of new hosts refused beyond MAX_HOSTS.", s.Refused)
	r.counter("sysmon_consumer_snapshots_unauthenticated_total",
		"Snapshots refused because they did not come from their host's broker user (HOST_IDENTITY=broker-user).", s.Unauthenticated)
	r.add("sysmon_consumer_hosts", "gauge", "Hosts known to the consumer, by state.", func() []sample {
		l, st, o := s.HostsByState()
		return []sample{{`{state="live"}`, float64(l)}, {`{state="stale"}`, float64(st)}, {`{state="offline"}`, float64(o)}}
	})
	r.add("sysmon_consumer_hosts_removed_total", "counter", "Hosts forgotten, by reason: evicted (offline longest, to make room) or expired (offline longer than HOST_EXPIRE).",
		func() []sample {
			ev, ex := s.HostsRemoved()
			return []sample{{`{reason="evicted"}`, float64(ev)}, {`{reason="expired"}`, float64(ex)}}
		})
	r.gauge("sysmon_consumer_hosts_memory_bytes", "Memory the hosts' latest snapshots and history take, as accounted.",
		func() float64 { b, _ := s.HostsMemory(); return float64(b) })
	r.gauge("sysmon_consumer_hosts_memory_max_bytes", "The hosts' memory budget; over it, offline hosts are evicted and history trimmed.",
		func() float64 { _, m := s.HostsMemory(); return float64(m) })
	r.gauge("sysmon_consumer_websocket_clients", "Dashboards connected to /ws.", func() float64 { return float64(s.WSClients()) })
	r.counter("sysmon_consumer_websocket_dropped_slow_total", "Dashboards disconnected for falling behind.", s.WSDropped)
	return r.histogram("sysmon_consumer_delay_seconds",
		"Time from sampling on the publisher to receipt by the consumer (includes any clock difference).")
}

// HistoryFigures are the history store's state, as /metrics shows it.
type HistoryFigures struct {
	Bytes                         int64 // on disk
	Written, Dropped, WriteErrors uint64
	DiskFull                      bool
}

// History registers the history store's metrics, read from stats at each
// scrape.
func History(r *Registry, stats func() HistoryFigures) {
	r.gauge("sysmon_consumer_history_bytes", "Bytes the history store takes on disk.", func() float64 { return float64(stats().Bytes) })
	r.counter("sysmon_consumer_history_samples_written_total", "Samples written to the history store.", func() uint64 { return stats().Written })
	r.counter("sysmon_consumer_history_samples_dropped_total", "Samples not written to the history (the store fell behind, or could not write).",
		func() uint64 { return stats().Dropped })
	r.counter("sysmon_consumer_history_write_errors_total", "Failed writes to the history store.", func() uint64 { return stats().WriteErrors })
	r.gauge("sysmon_consumer_history_disk_full", "1 while the history store's disk is full and history is not written (the live dashboard keeps working).",
		func() float64 {
			if stats().DiskFull {
				return 1
			}
			return 0
		})
}
