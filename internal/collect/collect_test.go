package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/net"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

func TestBusyPercent(t *testing.T) {
	cases := []struct {
		name      string
		prev, cur cpu.TimesStat
		want      float64
	}{
		{"idle", cpu.TimesStat{Idle: 100}, cpu.TimesStat{Idle: 200}, 0},
		{"busy", cpu.TimesStat{User: 0}, cpu.TimesStat{User: 100}, 100},
		{"mixed: 15 busy of 50", cpu.TimesStat{User: 10, Idle: 10}, cpu.TimesStat{User: 20, System: 5, Idle: 40, Iowait: 5}, 30},
		{"iowait is idle", cpu.TimesStat{}, cpu.TimesStat{Iowait: 50, User: 50}, 50},
		{"steal is busy", cpu.TimesStat{}, cpu.TimesStat{Steal: 30, Idle: 70}, 30},
		{"no time passed", cpu.TimesStat{User: 5}, cpu.TimesStat{User: 5}, 0},
		{"counter reset", cpu.TimesStat{User: 500, Idle: 500}, cpu.TimesStat{User: 1, Idle: 1}, 0},
	}
	for _, c := range cases {
		if got := busyPercent(c.prev, c.cur); got != c.want {
			t.Errorf("%s: busyPercent = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRate(t *testing.T) {
	if got := rate(1000, 3000, 2*time.Second); got != 1000 {
		t.Errorf("rate = %v", got)
	}
	if got := rate(3000, 1000, time.Second); got != 0 {
		t.Errorf("a counter reset must give 0, got %v", got)
	}
	if got := rate(1, 2, 0); got != 0 {
		t.Errorf("no elapsed time must give 0, got %v", got)
	}
}

// TestWindowKeepsAMeaningfulBaseline: a sample taken 10 ms after the previous
// one is compared with a reading at least a second old, not with the
// 10 ms-old one.
func TestWindowKeepsAMeaningfulBaseline(t *testing.T) {
	w := &counterWindow[int]{minWindow: time.Second}
	t0 := time.Unix(1000, 0)
	if _, ok := w.add(t0, 0); ok {
		t.Fatal("first reading has no baseline")
	}
	if b, _ := w.add(t0.Add(2*time.Second), 20); b.v != 0 {
		t.Fatalf("baseline %v, want the first reading", b.v)
	}
	b, _ := w.add(t0.Add(2*time.Second+10*time.Millisecond), 21)
	if b.v != 0 {
		t.Fatalf("baseline %v: a 10ms-old reading was chosen over the one at least 1s old", b.v)
	}
	b, _ = w.add(t0.Add(3500*time.Millisecond), 35)
	if b.v != 21 {
		t.Fatalf("baseline %v, want the newest reading at least 1s old (21)", b.v)
	}
	if len(w.readings) > 16 {
		t.Fatal("window grows without bound")
	}
	// Before any reading is old enough, the oldest one is used.
	w2 := &counterWindow[int]{minWindow: time.Second}
	w2.add(t0, 1)
	w2.add(t0.Add(100*time.Millisecond), 2)
	if b, _ := w2.add(t0.Add(200*time.Millisecond), 3); b.v != 1 {
		t.Fatalf("baseline %v, want the oldest", b.v)
	}
}

func TestRealMounts(t *testing.T) {
	parts := []disk.PartitionStat{
		{Device: "/dev/vda1", Mountpoint: "/", Fstype: "ext4"},
		{Device: "proc", Mountpoint: "/proc", Fstype: "proc"},
		{Device: "tmpfs", Mountpoint: "/run", Fstype: "tmpfs"},
		{Device: "/dev/vda1", Mountpoint: "/var/lib/docker/x", Fstype: "ext4"},
		{Device: "nas:/export", Mountpoint: "/mnt/nas", Fstype: "nfs4"},
		{Device: "/dev/vdb", Mountpoint: "/data", Fstype: "xfs"},
		{Device: "overlay", Mountpoint: "/var/lib/docker/overlay2/m", Fstype: "overlay"},
	}
	got := realMounts(parts)
	var mounts []string
	for _, p := range got {
		mounts = append(mounts, p.Mountpoint)
	}
	want := []string{"/", "/data", "/mnt/nas"}
	if len(mounts) != len(want) {
		t.Fatalf("mounts %v, want %v", mounts, want)
	}
	for i := range want {
		if mounts[i] != want[i] {
			t.Fatalf("mounts %v, want %v", mounts, want)
		}
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestHangingSourceDoesNotBlock simulates a dead network mount: one source
// never returns. Samples still come back within the timeout, mark it
// missing, and do not start a second goroutine behind the stuck one.
func TestHangingSourceDoesNotBlock(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var calls atomic.Int32
	hang := Source{"filesystems", func(ctx context.Context, _ time.Time, s *snapshot.Snapshot) error {
		calls.Add(1)
		<-release
		return nil
	}}
	ok := Source{"load", func(ctx context.Context, _ time.Time, s *snapshot.Snapshot) error {
		s.Load = &snapshot.Load{Load1: 1}
		return nil
	}}
	c := NewWithSources(quiet(), 300*time.Millisecond, staticInfo{platform: "Linux"}, hang, ok)
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		start := time.Now()
		s, err := c.Sample(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("sample took %v with a hanging source", d)
		}
		if s.Load == nil || s.Load.Load1 != 1 {
			t.Fatal("the healthy source's data is missing")
		}
		if len(s.Missing) != 1 || s.Missing[0] != "filesystems" {
			t.Fatalf("missing = %v, want [filesystems]", s.Missing)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the hanging source was called %d times: goroutines pile up", n)
	}
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Fatalf("goroutines grew from %d to %d", before, after)
	}
}

// The sources share one goroutine; when one starts to hang, the sources
// queued after it still answer in that very sample, and a source that only
// fails is reported without holding up the others.
func TestHangingSourceCostsOnlyItselfFromTheFirstSample(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var calls atomic.Int32
	set := func(v float64) func(context.Context, time.Time, *snapshot.Snapshot) error {
		return func(_ context.Context, _ time.Time, s *snapshot.Snapshot) error {
			s.UptimeSeconds = uint64(v)
			return nil
		}
	}
	first := Source{"cpu", func(_ context.Context, _ time.Time, s *snapshot.Snapshot) error {
		s.CPUPerCore = []float64{1}
		return nil
	}}
	hang := Source{"filesystems", func(ctx context.Context, _ time.Time, s *snapshot.Snapshot) error {
		if calls.Add(1) > 1 { // the baseline sample of NewWithSources passes
			<-release
		}
		return nil
	}}
	failing := Source{"memory", func(context.Context, time.Time, *snapshot.Snapshot) error { return errors.New("no meminfo") }}
	last := Source{"host", set(42)}
	c := NewWithSources(quiet(), 500*time.Millisecond, staticInfo{platform: "Linux"}, first, hang, failing, last)
	for i := range 3 {
		s, err := c.Sample(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(s.CPUPerCore) != 1 || s.UptimeSeconds != 42 {
			t.Fatalf("sample %d: a healthy source is missing: cpu %v, uptime %d, missing %v", i, s.CPUPerCore, s.UptimeSeconds, s.Missing)
		}
		if want := []string{"filesystems", "memory"}; !slices.Equal(s.Missing, want) {
			t.Fatalf("sample %d: missing %v, want %v", i, s.Missing, want)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("the hanging source was called %d times, want 2 (baseline, then the call that hangs)", n)
	}
}

// TestSampleRealHost reads this machine: the figures must be plausible.
func TestSampleRealHost(t *testing.T) {
	c := New(quiet(), 2*time.Second)
	time.Sleep(1100 * time.Millisecond)
	s, err := c.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Missing) != 0 {
		t.Errorf("missing sources on a healthy host: %v", s.Missing)
	}
	if s.Memory.Total == 0 || s.Memory.Percent <= 0 || s.Memory.Percent > 100 {
		t.Errorf("memory %+v", s.Memory)
	}
	if s.Disk.Total == 0 || len(s.Filesystems) == 0 {
		t.Errorf("disk %+v filesystems %v", s.Disk, s.Filesystems)
	}
	if len(s.CPUPerCore) != runtime.NumCPU() || s.CPUCount != runtime.NumCPU() {
		t.Errorf("per-core %v, count %d, want %d", s.CPUPerCore, s.CPUCount, runtime.NumCPU())
	}
	if s.Load == nil || s.Network == nil || s.DiskIO == nil || s.UptimeSeconds == 0 || s.Swap == nil {
		t.Errorf("incomplete sample %+v", s)
	}
	if s.Platform != "Linux" || s.PlatformRelease == "" {
		t.Errorf("platform %q %q", s.Platform, s.PlatformRelease)
	}
	if _, err := time.Parse(snapshot.TimestampLayout, s.Timestamp); err != nil {
		t.Errorf("timestamp %q: %v", s.Timestamp, err)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("a real sample does not validate: %v", err)
	}
}

func BenchmarkSample(b *testing.B) {
	c := New(quiet(), 2*time.Second)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Sample(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSwapFrom(t *testing.T) {
	if sw := swapFrom(0, 0); sw.Total != 0 || sw.Used != 0 || sw.Percent != 0 {
		t.Errorf("no swap: %+v", sw)
	}
	if sw := swapFrom(1000, 250); sw.Used != 750 || sw.Free != 250 || sw.Percent != 75 {
		t.Errorf("swap: %+v", sw)
	}
	if sw := swapFrom(100, 200); sw.Used != 0 || sw.Free != 100 {
		t.Errorf("free over total must not underflow: %+v", sw)
	}
}

func TestParseDiskstats(t *testing.T) {
	const in = `   8       0 sda 1000 5 20000 300 400 7 8000 900 0 1200 1200 0 0 0 0 0 0
   8       1 sda1 900 5 18000 280 390 7 7900 890 0 1100 1170
 254       0 vda 12 0 24 1 34 0 68 2 0 3 3
short line
`
	m := parseDiskstats([]byte(in))
	if len(m) != 3 {
		t.Fatalf("parsed %d devices: %v", len(m), m)
	}
	if c := m["sda"]; c.ReadCount != 1000 || c.ReadBytes != 20000*512 || c.WriteCount != 400 || c.WriteBytes != 8000*512 {
		t.Fatalf("sda %+v", c)
	}
	if c := m["vda"]; c.ReadBytes != 24*512 || c.WriteBytes != 68*512 {
		t.Fatalf("vda %+v", c)
	}
	// Only whole disks count: sda1 repeats sda's bytes.
	w := wholeDisks{"sda": true, "sda1": false, "vda": true}
	sum, each := w.sum(m)
	if sum.ReadBytes != (20000+24)*512 || sum.WriteCount != 434 {
		t.Fatalf("sum %+v", sum)
	}
	// Each whole disk's counters, by name, for node_disk_*_total.
	want := []snapshot.DiskCounters{{Name: "sda", ReadBytes: 20000 * 512, WriteBytes: 8000 * 512, Reads: 1000, Writes: 400},
		{Name: "vda", ReadBytes: 24 * 512, WriteBytes: 68 * 512, Reads: 12, Writes: 34}}
	if !reflect.DeepEqual(each, want) {
		t.Fatalf("disks %+v, want %+v", each, want)
	}
}

func TestSumTimes(t *testing.T) {
	got := sumTimes([]cpu.TimesStat{{User: 1, Idle: 2, Steal: 3}, {User: 10, Idle: 20, Iowait: 5}})
	if got.User != 11 || got.Idle != 22 || got.Steal != 3 || got.Iowait != 5 {
		t.Fatalf("%+v", got)
	}
}

// TestNetworkListFitsTheMessage: a host with more interfaces than a
// consumer takes, or a name it would refuse, still sends a valid snapshot
// whose totals count every interface.
func TestNetworkListFitsTheMessage(t *testing.T) {
	w := &counterWindow[map[string]net.IOCountersStat]{minWindow: time.Second}
	at := func(bytes uint64) map[string]net.IOCountersStat {
		m := map[string]net.IOCountersStat{"bad\xffname": {BytesRecv: bytes}}
		for i := range snapshot.MaxInterfaces + 100 {
			m[fmt.Sprintf("veth%05d", i)] = net.IOCountersStat{BytesRecv: bytes}
		}
		return m
	}
	t0 := time.Unix(1000, 0)
	s := &snapshot.Snapshot{Timestamp: "x", Memory: snapshot.Memory{Total: 1}}
	fillNetwork(w, t0, at(0), s)
	fillNetwork(w, t0.Add(time.Second), at(10), s)
	if n := len(s.Network.Interfaces); n != snapshot.MaxInterfaces {
		t.Errorf("%d interfaces listed, want %d", n, snapshot.MaxInterfaces)
	}
	if want := float64(10 * (snapshot.MaxInterfaces + 101)); s.Network.RxBytesPerSec != want {
		t.Errorf("rx total %v, want %v (every interface)", s.Network.RxBytesPerSec, want)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("the snapshot is refused: %v", err)
	}
}

// TestFilesystemListFitsTheMessage: mount points a consumer would refuse
// (not UTF-8, longer than snapshot.MaxNameLen) and those beyond
// snapshot.MaxFilesystems are left out and marked, and the snapshot stays
// valid: one of them used to make the whole message invalid.
func TestFilesystemListFitsTheMessage(t *testing.T) {
	dir := t.TempDir()
	var parts []disk.PartitionStat
	mount := func(p string) {
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, disk.PartitionStat{Device: "/dev/x" + fmt.Sprint(len(parts)), Mountpoint: p, Fstype: "ext4"})
	}
	mount(filepath.Join(dir, "bad\xffname"))
	mount(filepath.Join(dir, strings.Repeat("d", 200), strings.Repeat("e", 100)))
	for i := range snapshot.MaxFilesystems + 10 {
		mount(filepath.Join(dir, fmt.Sprintf("m%04d", i)))
	}
	now := time.Now()
	f := &filesystems{busy: map[string]*atomic.Bool{}, mounts: parts, mountsAt: now}
	s := &snapshot.Snapshot{Timestamp: "x", Memory: snapshot.Memory{Total: 1}}
	if err := f.fill(context.Background(), now, s); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Filesystems); n != snapshot.MaxFilesystems {
		t.Errorf("%d file systems listed, want %d", n, snapshot.MaxFilesystems)
	}
	if len(s.Missing) != 1 || s.Missing[0] != "filesystem:…" {
		t.Errorf("missing %q, want the mark of mounts left out", s.Missing)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("the snapshot is refused: %v", err)
	}
}
