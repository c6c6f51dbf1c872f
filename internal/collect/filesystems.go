package collect

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// pseudoFS are mounted file systems that hold no data of their own.
var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "tmpfs": true, "cgroup": true,
	"cgroup2": true, "securityfs": true, "pstore": true, "debugfs": true, "tracefs": true,
	"mqueue": true, "hugetlbfs": true, "configfs": true, "fusectl": true, "binfmt_misc": true,
	"autofs": true, "bpf": true, "efivarfs": true, "rpc_pipefs": true, "nsfs": true, "ramfs": true,
	"squashfs": true, "overlay": true, "fuse.lxcfs": true, "fuse.portal": true, "selinuxfs": true,
	"devfs": true, "none": true,
}

// filesystems samples every real mount. Each statfs runs on its own under the
// sample's deadline, so one dead NFS server costs its own mount only.
type filesystems struct {
	mu   sync.Mutex
	busy map[string]*atomic.Bool
	// The mount list is read again every mountsMaxAge: parsing mountinfo
	// every second made a quarter of a sample's allocations, and mounts
	// change rarely (a new one shows up within mountsMaxAge).
	mounts   []disk.PartitionStat
	mountsAt time.Time
}

const mountsMaxAge = 30 * time.Second

// realMounts keeps mounts with data: no pseudo file systems (an overlay root
// is kept, it is a container's disk), one entry per device (bind mounts
// repeat it; the shortest mount point wins).
func realMounts(parts []disk.PartitionStat) []disk.PartitionStat {
	byDev := map[string]disk.PartitionStat{}
	var order []string
	for _, p := range parts {
		if pseudoFS[p.Fstype] && !(p.Fstype == "overlay" && p.Mountpoint == "/") {
			continue
		}
		key := p.Device
		if key == "" || key == "none" {
			key = p.Mountpoint
		}
		if prev, seen := byDev[key]; seen {
			if len(p.Mountpoint) < len(prev.Mountpoint) {
				byDev[key] = p
			}
			continue
		}
		byDev[key] = p
		order = append(order, key)
	}
	out := make([]disk.PartitionStat, 0, len(order))
	for _, k := range order {
		out = append(out, byDev[k])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mountpoint < out[j].Mountpoint })
	return out
}

func (f *filesystems) fill(ctx context.Context, now time.Time, s *snapshot.Snapshot) error {
	mounts, err := f.list(ctx, now)
	if err != nil {
		return err
	}
	type result struct {
		i int
		u *disk.UsageStat
	}
	results := make(chan result, len(mounts))
	started := make([]bool, len(mounts))
	n := 0
	for i, p := range mounts {
		b := f.flag(p.Mountpoint)
		if !b.CompareAndSwap(false, true) {
			continue // still hanging from an earlier sample
		}
		started[i] = true
		n++
		go func() {
			defer b.Store(false)
			u, err := disk.UsageWithContext(ctx, p.Mountpoint)
			if err != nil {
				u = nil
			}
			results <- result{i, u}
		}()
	}
	usage := make([]*disk.UsageStat, len(mounts))
wait:
	for range n {
		select {
		case r := <-results:
			usage[r.i] = r.u
		case <-ctx.Done():
			break wait
		}
	}
	s.Filesystems = []snapshot.Filesystem{}
	left := false // mounts left out: names a consumer would refuse, or over MaxFilesystems
	for i, p := range mounts {
		u := usage[i]
		if u == nil {
			if !started[i] || ctx.Err() != nil {
				if fitsName(p.Mountpoint) {
					s.Missing = append(s.Missing, "filesystem:"+p.Mountpoint)
				} else {
					left = true
				}
			}
			continue
		}
		if u.Total == 0 {
			continue
		}
		if p.Mountpoint == "/" {
			s.Disk = snapshot.Disk{Total: u.Total, Used: u.Used, Free: u.Free}
		}
		// A mount point is any bytes up to PATH_MAX; the message takes
		// UTF-8 names of at most snapshot.MaxNameLen bytes, and a message
		// with one name over it would be refused whole.
		if !fitsName(p.Mountpoint) || !fitsName(p.Device) || !fitsName(p.Fstype) ||
			len(s.Filesystems) == snapshot.MaxFilesystems {
			left = true
			continue
		}
		fs := snapshot.Filesystem{Mountpoint: p.Mountpoint, Device: p.Device, Fstype: p.Fstype,
			Total: u.Total, Used: u.Used, Free: u.Free, Percent: round2(u.UsedPercent)}
		s.Filesystems = append(s.Filesystems, fs)
	}
	if left {
		s.Missing = append(s.Missing, "filesystem:…")
	}
	if len(s.Missing) > snapshot.MaxMissing-8 {
		s.Missing = append(s.Missing[:snapshot.MaxMissing-9], "filesystem:…")
	}
	return nil
}

// list returns the real mounts, read at most mountsMaxAge ago. Only the
// source's own goroutine calls it (the source is never run twice at once).
func (f *filesystems) list(ctx context.Context, now time.Time) ([]disk.PartitionStat, error) {
	if f.mounts != nil && now.Sub(f.mountsAt) < mountsMaxAge {
		return f.mounts, nil
	}
	parts, err := disk.PartitionsWithContext(ctx, true)
	if err != nil && len(parts) == 0 {
		return nil, err
	}
	f.mounts, f.mountsAt = realMounts(parts), now
	return f.mounts, nil
}

func (f *filesystems) flag(mount string) *atomic.Bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.busy[mount]
	if !ok {
		b = new(atomic.Bool)
		f.busy[mount] = b
	}
	return b
}

// fitsName tells whether a mount point, device, file system type or
// interface name can travel in a message.
func fitsName(v string) bool { return snapshot.CheckText("name", v, snapshot.MaxNameLen) == nil }
