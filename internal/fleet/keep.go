package fleet

import (
	"slices"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// At 100,000 hosts the figures the fleet keeps of each host's latest
// snapshot were about 1 KB a host (a tenth of the consumer's heap): the
// decoder's slices with room to grow, and a copy per host and per snapshot
// of strings that most hosts share (platform, processor, agent version,
// mount points, devices, file system types, interface names). The fleet
// keeps its own copy instead, each slice at its length and each such
// string interned.

// maxInterned bounds the interned strings: a publisher sending new names
// at every snapshot fills the table, which then starts afresh, so it costs
// at most this many strings and leaves the others unshared.
const maxInterned = 1 << 14

// interner shares equal strings; the fleet's lock guards it.
type interner map[string]string

func (in *interner) get(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := (*in)[s]; ok {
		return v
	}
	if *in == nil || len(*in) >= maxInterned {
		*in = make(interner)
	}
	(*in)[s] = s
	return s
}

// clip is s at its length: its own copy when the slice has room beyond it.
func clip[T any](s []T) []T {
	if cap(s) == len(s) {
		return s
	}
	return slices.Clone(s)[:len(s):len(s)]
}

// keep makes fig the fleet's own: its slices at their length, its shared
// strings interned. The slices it copies are the decoded snapshot's, which
// the fleet may not modify (Derive shares them), so those that need no copy
// keep their strings as they are.
func (in *interner) keep(fig *Figures) {
	fig.DiskMount = in.get(fig.DiskMount)
	fig.Platform, fig.PlatformRelease = in.get(fig.Platform), in.get(fig.PlatformRelease)
	fig.Processor, fig.AgentVersion = in.get(fig.Processor), in.get(fig.AgentVersion)
	fig.TempSensor = in.get(fig.TempSensor)
	fig.PerCore = clip(fig.PerCore)
	fig.Filesystems = own(fig.Filesystems, func(fs *snapshot.Filesystem) {
		fs.Mountpoint, fs.Device, fs.Fstype = in.get(fs.Mountpoint), in.get(fs.Device), in.get(fs.Fstype)
	})
	fig.Interfaces = own(fig.Interfaces, func(i *snapshot.Interface) { i.Name = in.get(i.Name) })
	fig.Missing = own(fig.Missing, func(m *string) { *m = in.get(*m) })
	fig.Temperatures = own(fig.Temperatures, func(t *snapshot.Temperature) { t.Sensor = in.get(t.Sensor) })
}

// own is the fleet's copy of s, at its length, with fix applied to each
// element (nil and empty stay as they are).
func own[T any](s []T, fix func(*T)) []T {
	if len(s) == 0 {
		return s
	}
	c := slices.Clone(s)[:len(s):len(s)]
	for i := range c {
		fix(&c[i])
	}
	return c
}
