package fleet

import (
	"math"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// TestDeriveDisk: the disk figure is the fullest file system; a prototype
// message, which has only its "disk" object, gets its root file system from
// it (the fallback the dashboard and /metrics/fleet each made on their own
// before); a snapshot with neither has no disk figure.
func TestDeriveDisk(t *testing.T) {
	for _, c := range []struct {
		name      string
		s         snapshot.Snapshot
		disk      float64 // NaN: none
		mount     string
		nfs       int
		rootTotal uint64
	}{
		{name: "fullest file system", s: snapshot.Snapshot{Filesystems: []snapshot.Filesystem{
			{Mountpoint: "/", Percent: 13}, {Mountpoint: "/var", Percent: 91.5}, {Mountpoint: "/boot", Percent: 40}}},
			disk: 91.5, mount: "/var", nfs: 3},
		{name: "first of equals", s: snapshot.Snapshot{Filesystems: []snapshot.Filesystem{
			{Mountpoint: "/a", Percent: 50}, {Mountpoint: "/b", Percent: 50}}}, disk: 50, mount: "/a", nfs: 2},
		{name: "file systems win over the prototype's disk", s: snapshot.Snapshot{
			Disk:        snapshot.Disk{Total: 100, Used: 99, Free: 1},
			Filesystems: []snapshot.Filesystem{{Mountpoint: "/", Percent: 20}}}, disk: 20, mount: "/", nfs: 1},
		{name: "prototype: root from disk", s: snapshot.Snapshot{Disk: snapshot.Disk{Total: 200, Used: 50, Free: 150}},
			disk: 25, mount: "/", nfs: 1, rootTotal: 200},
		{name: "prototype: empty disk", s: snapshot.Snapshot{Disk: snapshot.Disk{Total: 0, Used: 0}}, disk: math.NaN(), nfs: 0},
		{name: "full root", s: snapshot.Snapshot{Disk: snapshot.Disk{Total: 10, Used: 10}}, disk: 100, mount: "/", nfs: 1, rootTotal: 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := Derive(&c.s)
			if !same(f.Disk, c.disk) || f.DiskMount != c.mount || len(f.Filesystems) != c.nfs {
				t.Fatalf("disk %v at %q, %d file systems; want %v at %q, %d", f.Disk, f.DiskMount, len(f.Filesystems), c.disk, c.mount, c.nfs)
			}
			if c.rootTotal > 0 {
				r := f.Filesystems[0]
				if r.Mountpoint != "/" || r.Total != c.rootTotal || r.Used != c.s.Disk.Used || r.Free != c.s.Disk.Free || r.Percent != c.disk {
					t.Fatalf("root from disk: %+v", r)
				}
			}
		})
	}
}

// TestDeriveFigures: every figure of a full snapshot, and what a prototype
// message lacks is NaN, not 0 (a tile shows "—", an alert does not fire).
func TestDeriveFigures(t *testing.T) {
	now := time.Now()
	s := &snapshot.Snapshot{CPUPercent: 12.5, Memory: snapshot.Memory{Total: 1000, Percent: 40}, Seq: 7,
		CPUPerCore: []float64{10, 15}, Load: &snapshot.Load{Load1: 3, Load5: 2, Load15: 1},
		Swap: &snapshot.Swap{Total: 100, Percent: 5}, UptimeSeconds: 60, Time: &now,
		Network: &snapshot.Network{RxBytesPerSec: 10, TxBytesPerSec: 20}, DiskIO: &snapshot.DiskIO{ReadBytesPerSec: 30, WriteBytesPerSec: 40}}
	f := Derive(s)
	for name, got := range map[string][2]float64{
		"cpu": {f.CPU, 12.5}, "mem": {f.Mem, 40}, "mem total": {f.MemTotal, 1000}, "swap": {f.Swap, 5}, "swap total": {f.SwapTotal, 100},
		"load1": {f.Load1, 3}, "load5": {f.Load5, 2}, "load15": {f.Load15, 1}, "cores": {float64(f.Cores), 2},
		"load per core": {f.LoadPerCore, 1.5}, "rx": {f.Rx, 10}, "tx": {f.Tx, 20}, "rd": {f.Rd, 30}, "wr": {f.Wr, 40},
		"uptime": {f.Uptime, 60}, "seq": {float64(f.Seq), 7},
	} {
		if !same(got[0], got[1]) {
			t.Errorf("%s = %v, want %v", name, got[0], got[1])
		}
	}
	if f.SampledAt != &now || len(f.Interfaces) != 0 {
		t.Errorf("sampled at %q, interfaces %v", f.SampledAt, f.Interfaces)
	}
	// cpu_count wins over the per-core figures.
	s.CPUCount = 4
	if f := Derive(s); f.Cores != 4 || f.LoadPerCore != 0.75 {
		t.Errorf("with cpu_count 4: %d cores, load per core %v", f.Cores, f.LoadPerCore)
	}
	// No swap configured: nothing to warn about.
	s.Swap = &snapshot.Swap{Total: 0, Percent: 0}
	if f := Derive(s); !math.IsNaN(f.Swap) || f.SwapTotal != 0 {
		t.Errorf("swap total 0: swap %v, total %v", f.Swap, f.SwapTotal)
	}
	proto := Derive(&snapshot.Snapshot{CPUPercent: 1, Memory: snapshot.Memory{Total: 1, Percent: 2}})
	for name, v := range map[string]float64{"swap": proto.Swap, "swap total": proto.SwapTotal, "load1": proto.Load1,
		"load per core": proto.LoadPerCore, "rx": proto.Rx, "rd": proto.Rd, "uptime": proto.Uptime, "disk": proto.Disk} {
		if !math.IsNaN(v) {
			t.Errorf("prototype message: %s = %v, want none", name, v)
		}
	}
	if proto.Cores != 0 || proto.Seq != 0 || proto.SampledAt != nil {
		t.Errorf("prototype message: %d cores, seq %d", proto.Cores, proto.Seq)
	}
}

// TestPointIsTheFigures: the history point is the figures, the prototype's
// root file system included, so charts and tiles cannot disagree.
func TestPointIsTheFigures(t *testing.T) {
	f := testFleet()
	p := &snapshot.Snapshot{Timestamp: "t", CPUPercent: 5, Memory: snapshot.Memory{Total: 1, Percent: 6},
		Disk: snapshot.Disk{Total: 4, Used: 1, Free: 3}}
	f.Apply(p, body(p), "proto", time.Unix(1000, 0))
	h := f.hosts["proto"]
	pt := h.hist.last(1)[0]
	if pt.CPU != 5 || pt.Mem != 6 || !math.IsNaN(float64(pt.Swap)) || pt.Mounts()[0] != "/" || pt.FS()[0] != 25 {
		t.Fatalf("point %+v, mounts %v, fs %v", pt, pt.Mounts(), pt.FS())
	}
	if h.figures.Disk != 25 || h.figures.DiskMount != "/" {
		t.Fatalf("figures %+v", h.figures)
	}
}

func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// TestDeriveTemperatures: the hottest sensor, and the worst of the
// sensors' own marks (a sensor without marks never raises the level).
func TestDeriveTemperatures(t *testing.T) {
	for _, c := range []struct {
		temps  []snapshot.Temperature
		hot    float64
		sensor string
		level  string
	}{
		{nil, math.NaN(), "", "ok"},
		{[]snapshot.Temperature{{Sensor: "a", Celsius: 40}, {Sensor: "b", Celsius: 95}}, 95, "b", "ok"},
		{[]snapshot.Temperature{{Sensor: "a", Celsius: 80, High: 80, Critical: 100}, {Sensor: "b", Celsius: 60}}, 80, "a", "warn"},
		{[]snapshot.Temperature{{Sensor: "a", Celsius: 70, Critical: 70}, {Sensor: "b", Celsius: 90, High: 85}}, 90, "b", "crit"},
		{[]snapshot.Temperature{{Sensor: "a", Celsius: -5, High: 80}}, -5, "a", "ok"},
	} {
		f := Derive(&snapshot.Snapshot{CPUPercent: 1, Memory: snapshot.Memory{Total: 1, Percent: 2}, Temperatures: c.temps})
		if !(f.Temp == c.hot || math.IsNaN(f.Temp) && math.IsNaN(c.hot)) || f.TempSensor != c.sensor || f.TempLevel != c.level {
			t.Errorf("%+v: temp %v %q level %q, want %v %q %q", c.temps, f.Temp, f.TempSensor, f.TempLevel, c.hot, c.sensor, c.level)
		}
	}
}
