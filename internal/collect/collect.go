// Package collect owns sampling the host with gopsutil. Rates and CPU use are
// computed from counter deltas against an earlier reading, so a sample never
// sleeps; every source runs under a deadline, and a source that hangs (a dead
// network mount) is reported missing instead of blocking the caller, without
// piling up goroutines behind it.
package collect

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// Source is one part of a sample. Fill writes only its own fields of s.
type Source struct {
	Name string
	Fill func(ctx context.Context, now time.Time, s *snapshot.Snapshot) error
}

// Collector samples the host. Sample is safe for concurrent use; calls are
// serialised because the sources keep counter state.
type Collector struct {
	log     *slog.Logger
	timeout time.Duration
	mu      sync.Mutex
	sources []*guarded
	static  staticInfo
}

type guarded struct {
	Source
	busy     atomic.Bool
	reported atomic.Bool
}

type staticInfo struct {
	platform, release, processor, hostID string
	cpuCount                             int
}

// ErrBusy is reported for a source whose previous call has not returned yet.
var ErrBusy = errors.New("previous call still running")

// New returns a Collector over the host's real sources. timeout bounds each
// source in each sample.
func New(log *slog.Logger, timeout time.Duration) *Collector {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st := staticInfo{platform: strings.ToUpper(runtime.GOOS[:1]) + runtime.GOOS[1:]}
	if v, err := host.KernelVersionWithContext(ctx); err == nil {
		st.release = v
	}
	if infos, err := cpu.InfoWithContext(ctx); err == nil && len(infos) > 0 {
		st.processor = strings.TrimSpace(infos[0].ModelName)
	}
	if id, err := host.HostIDWithContext(ctx); err == nil {
		st.hostID = id
	}
	st.cpuCount, _ = cpu.CountsWithContext(ctx, true)
	return NewWithSources(log, timeout, st, defaultSources()...)
}

// NewWithSources builds a Collector over the given sources (tests use it to
// make one hang).
func NewWithSources(log *slog.Logger, timeout time.Duration, st staticInfo, sources ...Source) *Collector {
	c := &Collector{log: log, timeout: timeout, static: st}
	for _, s := range sources {
		c.sources = append(c.sources, &guarded{Source: s})
	}
	// A first reading gives the counters a baseline, so that the first
	// published sample already has rates.
	_, _ = c.Sample(context.Background())
	return c
}

// Sample takes one sample. It returns within the source timeout (plus
// scheduling) whatever the sources do; failed sources are listed in Missing.
func (c *Collector) Sample(ctx context.Context) (*snapshot.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	s := &snapshot.Snapshot{
		Timestamp:       now.Format(snapshot.TimestampLayout),
		Platform:        c.static.platform,
		PlatformRelease: c.static.release,
		Processor:       c.static.processor,
		HostID:          c.static.hostID,
		CPUCount:        c.static.cpuCount,
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	// The sources run one after another on one goroutine, which wakes
	// this one once, when it is done: they take microseconds each, and a
	// goroutine per source (or a wake-up per result) made the runtime hand
	// the only P to another thread whenever a source was in a system call
	// with a goroutine runnable behind it (a fifth of the publisher's CPU,
	// issue 16). A source that has not answered within slowSource is left
	// to its goroutine, and a new one takes the sources after it from the
	// same queue: one that hangs (a dead NFS or lxcfs mount) costs only
	// itself, as it would on its own goroutine.
	var list []*guarded
	for _, g := range c.sources {
		if !g.busy.CompareAndSwap(false, true) {
			s.Missing = append(s.Missing, g.Name)
			c.report(g, ErrBusy)
			continue
		}
		list = append(list, g)
	}
	type result struct {
		part snapshot.Snapshot
		err  error
		done bool
	}
	var (
		mu       sync.Mutex // guards results, which late workers still write
		results  = make([]result, len(list))
		queue    atomic.Int32
		answered atomic.Int32
		finished = make(chan struct{})
	)
	take := func() int { return int(queue.Add(1)) - 1 }
	worker := func() {
		for i := take(); i < len(list); i = take() {
			g := list[i]
			var part snapshot.Snapshot
			err := ctx.Err() // a worker that was stuck past the deadline
			if err == nil {
				err = g.Fill(ctx, now, &part)
			}
			// Free before answering: a Sample right after this one (two
			// quick /publish calls) must not find a source that has
			// answered still busy.
			g.busy.Store(false)
			mu.Lock()
			results[i] = result{part: part, err: err, done: true}
			mu.Unlock()
			if int(answered.Add(1)) == len(list) {
				close(finished)
			}
		}
	}
	if len(list) > 0 {
		go worker()
		slow := time.NewTimer(slowSource)
	wait:
		for {
			select {
			case <-finished:
				break wait
			case <-slow.C:
				if int(queue.Load()) < len(list) {
					go worker()
				}
				slow.Reset(slowSource)
			case <-ctx.Done():
				// Sources no worker has taken are freed here (no worker
				// will take them now); the one being read is missing,
				// stays busy until its read returns, and is reported by
				// the next sample.
				for i := take(); i < len(list); i = take() {
					list[i].busy.Store(false)
				}
				break wait
			}
		}
		slow.Stop()
	}
	mu.Lock()
	defer mu.Unlock()
	for i, r := range results {
		g := list[i]
		switch {
		case !r.done:
			s.Missing = append(s.Missing, g.Name)
		case r.err != nil:
			s.Missing = append(s.Missing, g.Name)
			c.report(g, r.err)
		default:
			g.reported.Store(false)
			merge(s, &r.part)
		}
	}
	sort.Strings(s.Missing)
	return s, nil
}

// slowSource is how long a source may take before the sources after it get
// a goroutine of their own; /proc reads take microseconds.
const slowSource = 20 * time.Millisecond

// report logs a failing source once until it recovers.
func (c *Collector) report(g *guarded, err error) {
	if g.reported.CompareAndSwap(false, true) {
		c.log.Warn("collector source failed; the snapshot marks it missing until it recovers",
			"source", g.Name, "err", err)
	}
}

// merge copies the fields a source filled.
func merge(dst, p *snapshot.Snapshot) {
	if p.CPUPerCore != nil {
		dst.CPUPercent, dst.CPUPerCore = p.CPUPercent, p.CPUPerCore
	}
	if p.Memory.Total != 0 {
		dst.Memory, dst.Swap = p.Memory, p.Swap
	}
	if p.Load != nil {
		dst.Load = p.Load
	}
	if p.Filesystems != nil {
		dst.Filesystems, dst.Disk = p.Filesystems, p.Disk
		dst.Missing = append(dst.Missing, p.Missing...)
	}
	if p.DiskIO != nil {
		dst.DiskIO = p.DiskIO
	}
	if p.Network != nil {
		dst.Network = p.Network
	}
	if p.Temperatures != nil {
		dst.Temperatures = p.Temperatures
	}
	if p.UptimeSeconds != 0 {
		dst.UptimeSeconds = p.UptimeSeconds
	}
}

func defaultSources() []Source {
	cpuW := &counterWindow[[]cpu.TimesStat]{minWindow: time.Second}
	diskW := &counterWindow[disk.IOCountersStat]{minWindow: time.Second}
	netW := &counterWindow[map[string]net.IOCountersStat]{minWindow: time.Second}
	fs := &filesystems{busy: map[string]*atomic.Bool{}}
	disks := wholeDisks{}
	// The /proc files are parsed here (procfs.go, checked against
	// gopsutil's parsers in the tests), each kept open: gopsutil's
	// system calls per file were most of the publisher's CPU time.
	statF, memF, loadF := newProcFile("stat"), newProcFile("meminfo"), newProcFile("loadavg")
	diskF, netF := newProcFile("diskstats"), newProcFile("net/dev")
	var per []cpu.TimesStat
	return []Source{
		{"cpu", func(ctx context.Context, now time.Time, s *snapshot.Snapshot) error {
			data, err := statF.read()
			if err != nil {
				return err
			}
			// The total is the sum of the CPUs.
			per = parseStat(data, per)
			return fillCPU(cpuW, now, append([]cpu.TimesStat{sumTimes(per)}, per...), s)
		}},
		{"memory", func(ctx context.Context, _ time.Time, s *snapshot.Snapshot) error {
			data, err := memF.read()
			if err != nil {
				return err
			}
			m, err := parseMeminfo(data)
			if errors.Is(err, errNoMemAvailable) {
				// gopsutil estimates it from the zones, as psutil does.
				vm, verr := mem.VirtualMemoryWithContext(ctx)
				if verr != nil {
					return verr
				}
				m.available, err = vm.Available, nil
			}
			if err != nil {
				return err
			}
			m.available = min(m.available, m.total)
			// The prototype's percent (psutil) is the share not available.
			s.Memory = snapshot.Memory{Total: m.total, Available: m.available, Used: m.total - m.available,
				Percent: round2(float64(m.total-m.available) / float64(m.total) * 100)}
			// Swap from the same /proc/meminfo reading (mem.SwapMemory
			// parses /proc/vmstat too, for figures not sent).
			s.Swap = swapFrom(m.swapTotal, m.swapFree)
			return nil
		}},
		{"load", func(ctx context.Context, _ time.Time, s *snapshot.Snapshot) error {
			data, err := loadF.read()
			if err != nil {
				return err
			}
			l1, l5, l15, err := parseLoadavg(data)
			if err != nil {
				return err
			}
			s.Load = &snapshot.Load{Load1: l1, Load5: l5, Load15: l15}
			return nil
		}},
		{"filesystems", fs.fill},
		{"disk_io", func(ctx context.Context, now time.Time, s *snapshot.Snapshot) error {
			data, err := diskF.read()
			if err != nil {
				return err
			}
			total, each := disks.sum(parseDiskstats(data))
			fillDiskIO(diskW, now, total, each, s)
			return nil
		}},
		{"network", func(ctx context.Context, now time.Time, s *snapshot.Snapshot) error {
			data, err := netF.read()
			if err != nil {
				return err
			}
			m, err := parseNetDev(data)
			if err != nil {
				return err
			}
			fillNetwork(netW, now, m, s)
			return nil
		}},
		{"temperatures", newTemperatures().fill},
		{"host", func(ctx context.Context, _ time.Time, s *snapshot.Snapshot) error {
			up, err := host.UptimeWithContext(ctx)
			if err != nil {
				return err
			}
			s.UptimeSeconds = max(up, 1)
			return nil
		}},
	}
}

func sumTimes(per []cpu.TimesStat) cpu.TimesStat {
	var t cpu.TimesStat
	for _, c := range per {
		t.User += c.User
		t.System += c.System
		t.Idle += c.Idle
		t.Nice += c.Nice
		t.Iowait += c.Iowait
		t.Irq += c.Irq
		t.Softirq += c.Softirq
		t.Steal += c.Steal
		t.Guest += c.Guest
		t.GuestNice += c.GuestNice
	}
	t.CPU = "cpu-total"
	return t
}

func swapFrom(total, free uint64) *snapshot.Swap {
	sw := &snapshot.Swap{Total: total, Free: min(free, total)}
	sw.Used = total - sw.Free
	if total > 0 {
		sw.Percent = round2(float64(sw.Used) / float64(total) * 100)
	}
	return sw
}

func fillCPU(w *counterWindow[[]cpu.TimesStat], now time.Time, cur []cpu.TimesStat, s *snapshot.Snapshot) error {
	if len(cur) == 0 {
		return errors.New("no CPU times")
	}
	base, ok := w.add(now, cur)
	s.CPUPerCore = make([]float64, len(cur)-1)
	s.CPUSeconds = cpuSeconds(cur[1:])
	if !ok || len(base.v) != len(cur) {
		return nil
	}
	s.CPUPercent = busyPercent(base.v[0], cur[0])
	for i := 1; i < len(cur); i++ {
		s.CPUPerCore[i-1] = busyPercent(base.v[i], cur[i])
	}
	return nil
}

// cpuSeconds are the cores' times since boot, rounded to the kernel's
// clock tick (1/100 s). /proc/stat's user and nice include the guest times,
// as node_exporter's node_cpu_seconds_total does.
func cpuSeconds(per []cpu.TimesStat) *snapshot.CPUSeconds {
	if len(per) > snapshot.MaxCPUSecondsCores {
		return nil // a consumer would refuse the message
	}
	t := &snapshot.CPUSeconds{}
	for _, m := range []*[]float64{&t.User, &t.Nice, &t.System, &t.Idle, &t.Iowait, &t.Irq, &t.Softirq, &t.Steal} {
		*m = make([]float64, len(per))
	}
	for i, c := range per {
		t.User[i], t.Nice[i], t.System[i], t.Idle[i] = round2(c.User), round2(c.Nice), round2(c.System), round2(c.Idle)
		t.Iowait[i], t.Irq[i], t.Softirq[i], t.Steal[i] = round2(c.Iowait), round2(c.Irq), round2(c.Softirq), round2(c.Steal)
	}
	return t
}

func fillDiskIO(w *counterWindow[disk.IOCountersStat], now time.Time, cur disk.IOCountersStat, disks []snapshot.DiskCounters, s *snapshot.Snapshot) {
	s.DiskIO = &snapshot.DiskIO{Disks: disks}
	if base, ok := w.add(now, cur); ok {
		el := now.Sub(base.at)
		s.DiskIO.ReadBytesPerSec = rate(base.v.ReadBytes, cur.ReadBytes, el)
		s.DiskIO.WriteBytesPerSec = rate(base.v.WriteBytes, cur.WriteBytes, el)
		s.DiskIO.ReadOpsPerSec = rate(base.v.ReadCount, cur.ReadCount, el)
		s.DiskIO.WriteOpsPerSec = rate(base.v.WriteCount, cur.WriteCount, el)
	}
}

func fillNetwork(w *counterWindow[map[string]net.IOCountersStat], now time.Time, cur map[string]net.IOCountersStat, s *snapshot.Snapshot) {
	s.Network = &snapshot.Network{Interfaces: []snapshot.Interface{}}
	base, ok := w.add(now, cur)
	names := make([]string, 0, len(cur))
	for n := range cur {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		i := snapshot.Interface{Name: n, RxBytesTotal: cur[n].BytesRecv, TxBytesTotal: cur[n].BytesSent}
		if p, had := base.v[n]; ok && had {
			el := now.Sub(base.at)
			i.RxBytesPerSec = rate(p.BytesRecv, cur[n].BytesRecv, el)
			i.TxBytesPerSec = rate(p.BytesSent, cur[n].BytesSent, el)
		}
		s.Network.RxBytesPerSec = round2(s.Network.RxBytesPerSec + i.RxBytesPerSec)
		s.Network.TxBytesPerSec = round2(s.Network.TxBytesPerSec + i.TxBytesPerSec)
		// The totals count every interface; the list stops at what a
		// consumer takes (a container host may have thousands of veths).
		if fitsName(n) && len(s.Network.Interfaces) < snapshot.MaxInterfaces {
			s.Network.Interfaces = append(s.Network.Interfaces, i)
		}
	}
}

func hostPath(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}
