package collect

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"
)

// The parsers of procfs.go replace gopsutil's on the sampling path; on this
// host they must read what gopsutil reads, taken between two of its
// readings (the counters move).
func TestProcParsersMatchGopsutil(t *testing.T) {
	ctx := context.Background()

	before, err := cpu.TimesWithContext(ctx, true)
	if err != nil || len(before) == 0 {
		t.Fatalf("gopsutil cpu times: %v %v", before, err)
	}
	data, err := newProcFile("stat").read()
	if err != nil {
		t.Fatal(err)
	}
	ours := parseStat(data, nil)
	after, _ := cpu.TimesWithContext(ctx, true)
	if len(ours) != len(before) || len(ours) != len(after) {
		t.Fatalf("%d CPUs, gopsutil %d then %d", len(ours), len(before), len(after))
	}
	for i, c := range ours {
		b, a := before[i], after[i]
		if c.CPU != b.CPU {
			t.Errorf("CPU %d named %q, gopsutil %q", i, c.CPU, b.CPU)
		}
		for _, v := range [][3]float64{{b.User, c.User, a.User}, {b.Nice, c.Nice, a.Nice}, {b.System, c.System, a.System},
			{b.Idle, c.Idle, a.Idle}, {b.Iowait, c.Iowait, a.Iowait}, {b.Irq, c.Irq, a.Irq}, {b.Softirq, c.Softirq, a.Softirq},
			{b.Steal, c.Steal, a.Steal}, {b.Guest, c.Guest, a.Guest}, {b.GuestNice, c.GuestNice, a.GuestNice}} {
			if v[1] < v[0] || v[1] > v[2] {
				t.Errorf("%s: %v not between gopsutil's %v and %v", c.CPU, v[1], v[0], v[2])
			}
		}
	}

	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data, err = newProcFile("meminfo").read()
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseMeminfo(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.total != vm.Total || m.swapTotal != vm.SwapTotal {
		t.Errorf("total %d swap %d, gopsutil %d %d", m.total, m.swapTotal, vm.Total, vm.SwapTotal)
	}
	if d := float64(m.available) - float64(vm.Available); d > 0.05*float64(vm.Total) || d < -0.05*float64(vm.Total) {
		t.Errorf("available %d, gopsutil %d a moment before", m.available, vm.Available)
	}

	l0, err := load.AvgWithContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data, err = newProcFile("loadavg").read()
	if err != nil {
		t.Fatal(err)
	}
	l1, l5, l15, err := parseLoadavg(data)
	if err != nil {
		t.Fatal(err)
	}
	lA, _ := load.AvgWithContext(ctx)
	for _, v := range [][3]float64{{l0.Load1, l1, lA.Load1}, {l0.Load5, l5, lA.Load5}, {l0.Load15, l15, lA.Load15}} {
		if v[1] != v[0] && v[1] != v[2] {
			t.Errorf("load %v, gopsutil %v then %v", v[1], v[0], v[2])
		}
	}

	nb, err := net.IOCountersWithContext(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	data, err = newProcFile("net/dev").read()
	if err != nil {
		t.Fatal(err)
	}
	nets, err := parseNetDev(data)
	if err != nil {
		t.Fatal(err)
	}
	na, _ := net.IOCountersWithContext(ctx, true)
	byName := func(l []net.IOCountersStat) map[string]net.IOCountersStat {
		m := map[string]net.IOCountersStat{}
		for _, c := range l {
			if c.Name != "lo" {
				m[c.Name] = c
			}
		}
		return m
	}
	b, a := byName(nb), byName(na)
	if len(nets) != len(b) || len(nets) == 0 {
		t.Errorf("interfaces %v, gopsutil %v", nets, b)
	}
	for name, c := range nets {
		if c.BytesRecv < b[name].BytesRecv || c.BytesRecv > a[name].BytesRecv ||
			c.BytesSent < b[name].BytesSent || c.BytesSent > a[name].BytesSent {
			t.Errorf("%s: %+v not between gopsutil's %+v and %+v", name, c, b[name], a[name])
		}
	}
}

func TestParseStat(t *testing.T) {
	const stat = "cpu  10 0 10 100 0 0 0 0 0 0\n" +
		"cpu0 100 200 300 400 500 600 700 800 900 1000\n" +
		"cpu1 1 2 3 4 5 6 7\n" + // Linux 2.6: no steal, guest, guest_nice
		"cpu2 1 2 x 4 5 6 7 8\n" + // malformed: skipped, as gopsutil does
		"cpu3 1 2 3\n" + // too short: skipped
		"intr 1 2 3 4\n" +
		"cpu9 1 2 3 4 5 6 7 8\n" // after the CPU lines: not read
	got := parseStat([]byte(stat), nil)
	c := cpu.ClocksPerSec
	want := []cpu.TimesStat{
		{CPU: "cpu0", User: 100 / c, Nice: 200 / c, System: 300 / c, Idle: 400 / c, Iowait: 500 / c, Irq: 600 / c,
			Softirq: 700 / c, Steal: 800 / c, Guest: 900 / c, GuestNice: 1000 / c},
		{CPU: "cpu1", User: 1 / c, Nice: 2 / c, System: 3 / c, Idle: 4 / c, Iowait: 5 / c, Irq: 6 / c, Softirq: 7 / c},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	// The slice is reused: a second parse allocates no new backing array.
	again := parseStat([]byte(stat), got)
	if &again[0] != &got[0] {
		t.Error("parseStat did not reuse dst")
	}
}

func TestParseMeminfo(t *testing.T) {
	const info = "MemTotal:        2000 kB\nMemFree:          100 kB\nMemAvailable:     500 kB\n" +
		"Buffers:            1 kB\nSwapTotal:        300 kB\nSwapFree:         200 kB\n"
	m, err := parseMeminfo([]byte(info))
	if err != nil || m != (meminfo{total: 2000 << 10, available: 500 << 10, swapTotal: 300 << 10, swapFree: 200 << 10}) {
		t.Errorf("got %+v, %v", m, err)
	}
	if _, err := parseMeminfo([]byte("MemTotal: 2000 kB\nMemFree: 100 kB\n")); !errors.Is(err, errNoMemAvailable) {
		t.Errorf("without MemAvailable: %v, want errNoMemAvailable", err)
	}
	if _, err := parseMeminfo([]byte("garbage\n")); err == nil {
		t.Error("no MemTotal: no error")
	}
}

func TestParseLoadavg(t *testing.T) {
	l1, l5, l15, err := parseLoadavg([]byte("0.52 1.03 2.50 1/234 5678\n"))
	if err != nil || l1 != 0.52 || l5 != 1.03 || l15 != 2.5 {
		t.Errorf("got %v %v %v %v", l1, l5, l15, err)
	}
	for _, bad := range []string{"", "0.5 1.0", "a b c 1/2 3"} {
		if _, _, _, err := parseLoadavg([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseNetDev(t *testing.T) {
	const dev = "Inter-|   Receive                                                |  Transmit\n" +
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
		"    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n" +
		"  eth0: 2000 20 0 0 0 0 0 0 3000 30 0 0 0 0 0 0\n" +
		"short: 1 2 3\n" +
		"veth:1: 5 0 0 0 0 0 0 0 6 0 0 0 0 0 0 0\n" // the name ends at the last colon
	m, err := parseNetDev([]byte(dev))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]net.IOCountersStat{
		"eth0":   {Name: "eth0", BytesRecv: 2000, BytesSent: 3000},
		"veth:1": {Name: "veth:1", BytesRecv: 5, BytesSent: 6},
	}
	if len(m) != len(want) {
		t.Fatalf("got %+v", m)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s: got %+v, want %+v", k, m[k], v)
		}
	}
	if _, err := parseNetDev([]byte("h\nh\n  eth0: x 20 0 0 0 0 0 0 3000 30 0 0 0 0 0 0\n")); err == nil {
		t.Error("malformed counter: no error")
	}
}

// A file longer than the buffer is read whole, and a second read gives
// the content again (from offset 0).
func TestProcFileReadsAgainFromTheStart(t *testing.T) {
	want, err := os.ReadFile("/proc/version")
	if err != nil {
		t.Skip(err)
	}
	f := newProcFile("version")
	f.buf = make([]byte, 8)
	for range 2 {
		got, err := f.read()
		if err != nil || string(got) != string(want) {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	if _, err := newProcFile("no-such-file").read(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzProcParsers(f *testing.F) {
	f.Add([]byte("cpu  1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7 8 9 10\n"))
	f.Add([]byte("MemTotal: 1 kB\nMemAvailable: 2 kB\n"))
	f.Add([]byte("h\nh\n eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"))
	f.Add([]byte("0.1 0.2 0.3 1/2 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range parseStat(data, nil) {
			if c.User < 0 || c.Idle < 0 {
				t.Fatalf("negative time %+v", c)
			}
		}
		if m, err := parseMeminfo(data); err == nil && m.total == 0 {
			t.Fatal("no error without a total")
		}
		_, _, _, _ = parseLoadavg(data)
		_, _ = parseNetDev(data)
		_ = parseDiskstats(data)
	})
}
