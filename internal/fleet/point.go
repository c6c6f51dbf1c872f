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
	Cores                                []float32
	FS                                   []FSUse
}

// FSUse is one file system's use in percent.
type FSUse struct {
	Mount string
	Pct   float32
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
	if len(s.CPUPerCore) > 0 {
		p.Cores = make([]float32, len(s.CPUPerCore))
		for i, c := range s.CPUPerCore {
			p.Cores[i] = float32(c)
		}
	}
	if len(s.Filesystems) > 0 {
		p.FS = make([]FSUse, len(s.Filesystems))
		for i, f := range s.Filesystems {
			p.FS[i] = FSUse{Mount: f.Mountpoint, Pct: float32(f.Percent)}
		}
	} else if s.Disk.Total > 0 {
		// A prototype message knows only its root file system.
		p.FS = []FSUse{{Mount: "/", Pct: float32(float64(s.Disk.Used) / float64(s.Disk.Total) * 100)}}
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
	if p.Cores != nil {
		b = append(b, `,"cores":[`...)
		for i, c := range p.Cores {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFloat(b, c)
		}
		b = append(b, ']')
	}
	if p.FS != nil {
		b = append(b, `,"fs":{`...)
		for i, f := range p.FS {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.Mount)
			b = append(b, ':')
			b = appendFloat(b, f.Pct)
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
