package collect

import (
	"os"
	"slices"
	"strings"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// parseDiskstats reads /proc/diskstats (read by a procFile). gopsutil's
// IOCounters also opens udev data, serial, model and device-mapper files
// for every device, every sample: labels sysmon does not send, five file
// opens per disk per second on a host that should barely notice sysmon.
//
// The lines are: major minor name, then reads
// completed, reads merged, sectors read, ms reading, writes completed,
// writes merged, sectors written, … (Documentation/admin-guide/iostats.rst).
// A sector is 512 bytes there, whatever the device's own sector size.
func parseDiskstats(data []byte) map[string]disk.IOCountersStat {
	out := map[string]disk.IOCountersStat{}
	var f [10][]byte
	lines(data, func(line []byte) bool {
		if fields(line, f[:]) < 10 {
			return true
		}
		n := func(i int) uint64 {
			v, _ := parseUint(f[i])
			return v
		}
		name := string(f[2])
		out[name] = disk.IOCountersStat{Name: name, ReadCount: n(3), ReadBytes: n(5) * 512,
			WriteCount: n(7), WriteBytes: n(9) * 512}
		return true
	})
	return out
}

// wholeDisks remembers which block devices are whole, real disks (they have
// a /sys/block/NAME/device link): partitions and device-mapper volumes would
// count the same bytes twice. A device is looked up once.
type wholeDisks map[string]bool

// sum returns the whole disks' counters added up, and each one's, sorted by
// name (at most snapshot.MaxDisks, names a consumer takes).
func (w wholeDisks) sum(m map[string]disk.IOCountersStat) (disk.IOCountersStat, []snapshot.DiskCounters) {
	var sum disk.IOCountersStat
	var each []snapshot.DiskCounters
	sysBlock := hostPath("HOST_SYS", "/sys") + "/block/"
	for name, c := range m {
		whole, known := w[name]
		if !known {
			_, err := os.Stat(sysBlock + name + "/device")
			whole = err == nil
			w[name] = whole
		}
		if !whole {
			continue
		}
		sum.ReadBytes += c.ReadBytes
		sum.WriteBytes += c.WriteBytes
		sum.ReadCount += c.ReadCount
		sum.WriteCount += c.WriteCount
		if fitsName(name) && len(each) < snapshot.MaxDisks {
			each = append(each, snapshot.DiskCounters{Name: name, ReadBytes: c.ReadBytes, WriteBytes: c.WriteBytes,
				Reads: c.ReadCount, Writes: c.WriteCount})
		}
	}
	slices.SortFunc(each, func(a, b snapshot.DiskCounters) int { return strings.Compare(a.Name, b.Name) })
	return sum, each
}
