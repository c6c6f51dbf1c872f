package fleet

import (
	"math"
	"time"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// Figures are what a snapshot says about its host, derived once at ingest
// from the validated snapshot: the dashboard's tiles and charts, the host
// view's tables, /metrics/fleet and everything built later read these and
// never interpret the snapshot again. A figure the snapshot does not have is
// NaN.
type Figures struct {
	CPU      float64 // percent busy
	Mem      float64 // percent used
	MemTotal float64 // bytes
	// Swap is the percent used, NaN when the host has no swap (none
	// reported, or a total of 0: nothing to warn about).
	Swap, SwapTotal      float64
	Load1, Load5, Load15 float64
	Cores                int     // logical CPUs: cpu_count, else the per-core figures
	LoadPerCore          float64 // Load1 / Cores
	Rx, Tx               float64 // network bytes per second, all interfaces
	Rd, Wr               float64 // disk bytes per second, all disks
	RdOps, WrOps         float64 // disk operations per second, all disks
	Uptime               float64 // seconds
	Seq                  uint64  // 0: none (a prototype message)
	// Disk is the use in percent of the fullest file system, DiskMount its
	// mount point.
	Disk      float64
	DiskMount string
	// Filesystems are the host's file systems; a prototype message, which
	// knows only its root, gets one at "/" from its "disk" object. Shared
	// with the snapshot: never modify.
	Filesystems []snapshot.Filesystem
	// PerCore is each core's percent busy (the snapshot's; never modify).
	PerCore []float64
	// Interfaces are the network interfaces' rates and counters (the
	// snapshot's).
	Interfaces []snapshot.Interface
	// The cumulative counters (cpu_seconds, the disks' totals) are not
	// figures: only /metrics/fleet exports them, from the snapshot
	// (HostView), and a fleet of 100,000 hosts does not keep them decoded.

	// Missing names the sources the publisher could not read for this
	// snapshot: the host is degraded (the snapshot's; never modify).
	Missing []string

	// Tags are the host's HOST_TAGS (the snapshot's; never modify).
	Tags map[string]string
	// Temperatures are the host's sensors (the snapshot's; never modify);
	// Temp is the hottest reading, NaN without sensors, TempSensor its name.
	// TempLevel is "crit" when a sensor is at or over its own critical
	// mark, "warn" at or over its high mark, else "ok" (also without
	// sensors): the sensors' marks, not thresholds of the consumer.
	Temperatures []snapshot.Temperature
	Temp         float64
	TempSensor   string
	TempLevel    string

	// Facts the host view shows as they were sent.
	Platform, PlatformRelease, Processor, AgentVersion string
	// SampledAt is the snapshot's time; nil for a prototype message, which
	// has only Timestamp (no time zone).
	SampledAt *time.Time
	Timestamp string
}

// Derive computes a validated snapshot's figures.
func Derive(s *snapshot.Snapshot) Figures {
	nan := math.NaN()
	f := Figures{CPU: s.CPUPercent, Mem: s.Memory.Percent, MemTotal: float64(s.Memory.Total),
		Swap: nan, SwapTotal: nan, Load1: nan, Load5: nan, Load15: nan, LoadPerCore: nan,
		Rx: nan, Tx: nan, Rd: nan, Wr: nan, RdOps: nan, WrOps: nan, Missing: s.Missing, Uptime: nan, Seq: s.Seq, Disk: nan,
		Filesystems: s.Filesystems, PerCore: s.CPUPerCore, SampledAt: s.Time, Timestamp: s.Timestamp,
		Platform: s.Platform, PlatformRelease: s.PlatformRelease, Processor: s.Processor, AgentVersion: s.AgentVersion,
		Tags: s.Tags, Temperatures: s.Temperatures, Temp: nan, TempLevel: "ok"}
	for _, t := range s.Temperatures {
		if math.IsNaN(f.Temp) || t.Celsius > f.Temp {
			f.Temp, f.TempSensor = t.Celsius, t.Sensor
		}
		switch {
		case t.Critical > 0 && t.Celsius >= t.Critical:
			f.TempLevel = "crit"
		case t.High > 0 && t.Celsius >= t.High && f.TempLevel == "ok":
			f.TempLevel = "warn"
		}
	}
	if s.Swap != nil {
		f.SwapTotal = float64(s.Swap.Total)
		if s.Swap.Total > 0 {
			f.Swap = s.Swap.Percent
		}
	}
	if s.Load != nil {
		f.Load1, f.Load5, f.Load15 = s.Load.Load1, s.Load.Load5, s.Load.Load15
	}
	f.Cores = s.CPUCount
	if f.Cores <= 0 {
		f.Cores = len(s.CPUPerCore)
	}
	if f.Cores > 0 && s.Load != nil {
		f.LoadPerCore = f.Load1 / float64(f.Cores)
	}
	if s.Network != nil {
		f.Rx, f.Tx, f.Interfaces = s.Network.RxBytesPerSec, s.Network.TxBytesPerSec, s.Network.Interfaces
	}
	if s.DiskIO != nil {
		f.Rd, f.Wr = s.DiskIO.ReadBytesPerSec, s.DiskIO.WriteBytesPerSec
		f.RdOps, f.WrOps = s.DiskIO.ReadOpsPerSec, s.DiskIO.WriteOpsPerSec
	}
	if s.UptimeSeconds > 0 {
		f.Uptime = float64(s.UptimeSeconds)
	}
	if len(f.Filesystems) == 0 && s.Disk.Total > 0 {
		// The prototype's "disk" is the root file system.
		f.Filesystems = []snapshot.Filesystem{{Mountpoint: "/", Total: s.Disk.Total, Used: s.Disk.Used, Free: s.Disk.Free,
			Percent: float64(s.Disk.Used) / float64(s.Disk.Total) * 100}}
	}
	for _, fs := range f.Filesystems {
		if math.IsNaN(f.Disk) || fs.Percent > f.Disk {
			f.Disk, f.DiskMount = fs.Percent, fs.Mountpoint
		}
	}
	return f
}

// Size is about what the figures take written out (the hub keeps each
// host's latest entry encoded): the fleet's memory budget counts it, and
// the hub sizes its buffers with it.
func (f *Figures) Size() int {
	n := 640 + len(f.DiskMount) + len(f.Platform) + len(f.PlatformRelease) + len(f.Processor) + len(f.AgentVersion) + len(f.Timestamp)
	for i := range f.Filesystems {
		fs := &f.Filesystems[i]
		// Its entry in "fs", and its use in the point.
		n += 2*len(fs.Mountpoint) + len(fs.Device) + len(fs.Fstype) + 140
	}
	for i := range f.Interfaces {
		n += len(f.Interfaces[i].Name) + 60
	}
	for _, m := range f.Missing {
		n += len(m) + 8
	}
	for k, v := range f.Tags {
		n += len(k) + len(v) + 6
	}
	n += len(f.TempSensor)
	for i := range f.Temperatures {
		n += len(f.Temperatures[i].Sensor) + 60
	}
	return n + 12*len(f.PerCore)
}
