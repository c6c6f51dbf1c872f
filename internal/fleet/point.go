package fleet

import (
	"math"
	"strconv"
	"time"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// Point is one compact history sample. Values are float32 (charts need no
// more) and NaN marks a value the snapshot did not have.
type Point struct {
	T                                    int64 // unix milliseconds, consumer receipt time
	CPU, Mem, Swap, Load1, Load5, Load15 float32
	Rx, Tx, Rd, Wr                       float32
	// Vals holds the per-core values, then the file systems' use in
	// percent, in one allocation: a 10,000-host fleet keeps 3 million
	// points, and every allocation and pointer costs memory and GC time.
	Vals   []float32
	NCores int32
	// mounts names the file systems; points of a host share one list for
	// as long as its mounts do not change (see history).
	mounts *mountSet
}

var nan = float32(math.NaN())

func pointFrom(s *snapshot.Snapshot, at time.Time) Point {
	p := Point{T: at.UnixMilli(), CPU: float32(s.CPUPercent), Mem: float32(s.Memory.Percent),
		Swap: nan, Load1: nan, Load5: nan, Load15: nan, Rx: nan, Tx: nan, Rd: nan, Wr: nan}
	if s.Swap != nil {
		p.Swap = float32(s.Swap.Percent)
	}
	if s.Load != nil {
		p.Load1, p.Load5, p.Load15 = float32(s.Load.Load1), float32(s.Load.Load5), float32(s.Load.Load15)
	}
	if s.Network != nil {
		p.Rx, p.Tx = float32(s.Network.RxBytesPerSec), float32(s.Network.TxBytesPerSec)
	}
	if s.DiskIO != nil {
		p.Rd, p.Wr = float32(s.DiskIO.ReadBytesPerSec), float32(s.DiskIO.WriteBytesPerSec)
	}
	nfs := len(s.Filesystems)
	if nfs == 0 && s.Disk.Total > 0 {
		nfs = 1 // a prototype message knows only its root file system
	}
	if n := len(s.CPUPerCore) + nfs; n > 0 {
		p.Vals = make([]float32, n)
		p.NCores = int32(len(s.CPUPerCore))
		for i, c := range s.CPUPerCore {
			p.Vals[i] = float32(c)
		}
		fs := p.Vals[len(s.CPUPerCore):]
		for i, f := range s.Filesystems {
			fs[i] = float32(f.Percent)
		}
		if len(s.Filesystems) == 0 && nfs == 1 {
			fs[0] = float32(float64(s.Disk.Used) / float64(s.Disk.Total) * 100)
		}
	}
	return p
}

// AppendJSON writes the point as the compact JSON object of the WebSocket
// protocol: {"t":…,"cpu":…,…,"cores":[…],"fs":{"/":…}}; NaN becomes null.
func (p *Point) AppendJSON(b []byte) []byte {
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, p.T, 10)
	for _, f := range [...]struct {
		k string
		v float32
	}{{"cpu", p.CPU}, {"mem", p.Mem}, {"swap", p.Swap}, {"load1", p.Load1}, {"load5", p.Load5},
		{"load15", p.Load15}, {"rx", p.Rx}, {"tx", p.Tx}, {"rd", p.Rd}, {"wr", p.Wr}} {
		b = append(b, ',', '"')
		b = append(b, f.k...)
		b = append(b, '"', ':')
		b = appendFloat(b, f.v)
	}
	if p.NCores > 0 {
		b = append(b, `,"cores":[`...)
		for i, c := range p.Vals[:p.NCores] {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFloat(b, c)
		}
		b = append(b, ']')
	}
	if p.mounts != nil && len(p.mounts.names) > 0 {
		b = append(b, `,"fs":{`...)
		for i, m := range p.mounts.names {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m)
			b = append(b, ':')
			b = appendFloat(b, p.Vals[int(p.NCores)+i])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendFloat(b []byte, f float32) []byte {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, float64(f), 'f', -1, 32)
}
