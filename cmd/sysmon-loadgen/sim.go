package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// shape is the hardware of a simulated host: it decides the message size.
// Zero fields vary from host to host, as in a real fleet.
type shape struct {
	cores, filesystems, interfaces int
}

// simHost is one simulated host: a snapshot reused from sample to sample,
// with values that wander like a real machine's.
type simHost struct {
	snap     snapshot.Snapshot
	interval time.Duration
	due      time.Time
	rng      *rand.Rand
	base     float64 // the host's typical CPU use
}

var (
	releases  = []string{"6.1.0-28-amd64", "6.1.0-31-amd64", "5.10.0-33-amd64", "6.12.12-amd64"}
	cpuModels = []string{"Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", "AMD EPYC 7763 64-Core Processor",
		"Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "AMD EPYC 9454 48-Core Processor"}
	extraMounts = []string{"/var", "/home", "/srv", "/var/lib/docker", "/data", "/boot"}
	ifaceNames  = []string{"eth0", "eth1", "ens3", "ens4", "bond0", "docker0"}
	envs        = []string{"prod", "prod", "prod", "staging", "dev"}
	roles       = []string{"web", "web", "api", "db", "cache", "batch"}
	dcs         = []string{"eu-west-1", "eu-central-1", "us-east-1"}
)

// newSimHost builds host i of a run; seed makes a run repeatable.
func newSimHost(i int, name string, sh shape, interval time.Duration, seed uint64) *simHost {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	pick := func(v, lo, hi int) int {
		if v > 0 {
			return v
		}
		return lo + rng.IntN(hi-lo+1)
	}
	cores := pick(sh.cores, 2, 16)
	nfs := pick(sh.filesystems, 1, 3)
	nif := pick(sh.interfaces, 1, 2)
	memTotal := uint64(4+rng.IntN(60)) << 30
	h := &simHost{interval: interval, rng: rng, base: 5 + rng.Float64()*40}
	s := &h.snap
	s.Memory.Total = memTotal
	s.Platform = "Linux"
	s.PlatformRelease = releases[rng.IntN(len(releases))]
	s.Processor = cpuModels[rng.IntN(len(cpuModels))]
	s.Schema = snapshot.Schema
	s.Host = name
	s.HostID = fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff,
		rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
	s.InstanceID = fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff,
		rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff)
	s.IntervalSeconds = interval.Seconds()
	s.AgentVersion = "0.1.0"
	s.UptimeSeconds = uint64(3600 + rng.IntN(90*86400))
	s.CPUCount = cores
	s.CPUPerCore = make([]float64, cores)
	up := float64(s.UptimeSeconds)
	s.CPUSeconds = &snapshot.CPUSeconds{}
	for _, m := range []*[]float64{&s.CPUSeconds.User, &s.CPUSeconds.Nice, &s.CPUSeconds.System, &s.CPUSeconds.Idle,
		&s.CPUSeconds.Iowait, &s.CPUSeconds.Irq, &s.CPUSeconds.Softirq, &s.CPUSeconds.Steal} {
		*m = make([]float64, cores)
	}
	for i := range cores {
		s.CPUSeconds.User[i], s.CPUSeconds.System[i], s.CPUSeconds.Idle[i] = round2(up*0.2), round2(up*0.05), round2(up*0.74)
		s.CPUSeconds.Iowait[i], s.CPUSeconds.Softirq[i] = round2(up*0.01), round2(up*0.002)
	}
	s.Load = &snapshot.Load{}
	s.Swap = &snapshot.Swap{Total: 2 << 30}
	for k := range nfs {
		total := uint64(20+rng.IntN(2000)) << 30
		fs := snapshot.Filesystem{Mountpoint: "/", Device: "/dev/nvme0n1p2", Fstype: "ext4", Total: total}
		if k > 0 {
			fs.Mountpoint = extraMounts[(k-1)%len(extraMounts)]
			fs.Device = fmt.Sprintf("/dev/nvme%dn1p1", k)
			fs.Fstype = "xfs"
		}
		fs.Used = uint64(float64(total) * (0.1 + rng.Float64()*0.7))
		s.Filesystems = append(s.Filesystems, fs)
	}
	s.DiskIO = &snapshot.DiskIO{}
	for k := range nfs {
		s.DiskIO.Disks = append(s.DiskIO.Disks, snapshot.DiskCounters{Name: fmt.Sprintf("nvme%dn1", k),
			ReadBytes: uint64(rng.IntN(1 << 40)), WriteBytes: uint64(rng.IntN(1 << 40)), Reads: uint64(rng.IntN(1 << 30)), Writes: uint64(rng.IntN(1 << 30))})
	}
	s.Network = &snapshot.Network{}
	for k := range nif {
		s.Network.Interfaces = append(s.Network.Interfaces, snapshot.Interface{Name: ifaceNames[k%len(ifaceNames)]})
	}
	// A few tags, as HOST_TAGS would give them, to group and filter a
	// simulated fleet by; a third of the hosts have sensors (the others
	// are VMs).
	s.Tags = map[string]string{"env": envs[rng.IntN(len(envs))], "role": roles[rng.IntN(len(roles))],
		"dc": dcs[rng.IntN(len(dcs))]}
	if rng.IntN(3) == 0 {
		s.Temperatures = []snapshot.Temperature{{Sensor: "coretemp_package_id_0", High: 84, Critical: 100},
			{Sensor: "nvme_composite", High: 70, Critical: 80}}
	}
	return h
}

// next advances the host to a new sample taken at now and returns it.
func (h *simHost) next(now time.Time) *snapshot.Snapshot {
	s, r := &h.snap, h.rng
	s.Seq++
	s.Time = &now
	s.Timestamp = now.Format(snapshot.TimestampLayout)
	s.UptimeSeconds += uint64(max(h.interval/time.Second, 1))
	sum := 0.0
	secs := max(h.interval.Seconds(), 1)
	for i := range s.CPUPerCore {
		c := round2(clamp(h.base+r.NormFloat64()*15, 0, 100))
		s.CPUPerCore[i] = c
		sum += c
		s.CPUSeconds.User[i] = round2(s.CPUSeconds.User[i] + secs*c/100*0.8)
		s.CPUSeconds.System[i] = round2(s.CPUSeconds.System[i] + secs*c/100*0.2)
		s.CPUSeconds.Idle[i] = round2(s.CPUSeconds.Idle[i] + secs*(1-c/100))
	}
	s.CPUPercent = round2(sum / float64(len(s.CPUPerCore)))
	used := clamp(0.3+0.05*r.NormFloat64(), 0.05, 0.98)
	s.Memory.Available = uint64(float64(s.Memory.Total) * (1 - used))
	s.Memory.Used = uint64(float64(s.Memory.Total) * used * 0.9)
	s.Memory.Percent = round2(used * 100)
	load := s.CPUPercent / 100 * float64(len(s.CPUPerCore))
	s.Load.Load1 = round2(load * (0.8 + 0.4*r.Float64()))
	s.Load.Load5 = round2(load * (0.9 + 0.2*r.Float64()))
	s.Load.Load15 = round2(load)
	s.Swap.Used = uint64(float64(s.Swap.Total) * 0.02 * r.Float64())
	s.Swap.Free = s.Swap.Total - s.Swap.Used
	s.Swap.Percent = round2(float64(s.Swap.Used) / float64(s.Swap.Total) * 100)
	for i := range s.Filesystems {
		f := &s.Filesystems[i]
		f.Used += uint64(r.IntN(1 << 20))
		f.Used = min(f.Used, f.Total)
		f.Free = f.Total - f.Used
		f.Percent = round2(float64(f.Used) / float64(f.Total) * 100)
		if f.Mountpoint == "/" {
			s.Disk = snapshot.Disk{Total: f.Total, Used: f.Used, Free: f.Free}
		}
	}
	s.DiskIO.ReadBytesPerSec = round2(math.Abs(r.NormFloat64()) * 2e6)
	s.DiskIO.WriteBytesPerSec = round2(math.Abs(r.NormFloat64()) * 5e6)
	s.DiskIO.ReadOpsPerSec = round2(math.Abs(r.NormFloat64()) * 50)
	s.DiskIO.WriteOpsPerSec = round2(math.Abs(r.NormFloat64()) * 120)
	for i := range s.DiskIO.Disks {
		d := &s.DiskIO.Disks[i]
		n := uint64(len(s.DiskIO.Disks))
		d.ReadBytes += uint64(s.DiskIO.ReadBytesPerSec*secs) / n
		d.WriteBytes += uint64(s.DiskIO.WriteBytesPerSec*secs) / n
		d.Reads += uint64(s.DiskIO.ReadOpsPerSec*secs) / n
		d.Writes += uint64(s.DiskIO.WriteOpsPerSec*secs) / n
	}
	for i := range s.Temperatures {
		t := &s.Temperatures[i]
		t.Celsius = math.Round(clamp(t.High-30+s.CPUPercent/3+r.NormFloat64(), 20, 110)*10) / 10
	}
	s.Network.RxBytesPerSec, s.Network.TxBytesPerSec = 0, 0
	for i := range s.Network.Interfaces {
		in := &s.Network.Interfaces[i]
		in.RxBytesPerSec = round2(math.Abs(r.NormFloat64()) * 1e6)
		in.TxBytesPerSec = round2(math.Abs(r.NormFloat64()) * 4e5)
		in.RxBytesTotal += uint64(in.RxBytesPerSec * secs)
		in.TxBytesTotal += uint64(in.TxBytesPerSec * secs)
		s.Network.RxBytesPerSec = round2(s.Network.RxBytesPerSec + in.RxBytesPerSec)
		s.Network.TxBytesPerSec = round2(s.Network.TxBytesPerSec + in.TxBytesPerSec)
	}
	return s
}

func clamp(v, lo, hi float64) float64 { return min(max(v, lo), hi) }

func round2(f float64) float64 { return math.Round(f*100) / 100 }
