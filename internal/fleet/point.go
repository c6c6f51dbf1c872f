package fleet

import "time"

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

// Cores is each core's percent busy.
func (p *Point) Cores() []float32 { return p.Vals[:p.NCores] }

// Mounts names the file systems whose use FS holds, in the same order.
func (p *Point) Mounts() []string {
	if p.mounts == nil {
		return nil
	}
	return p.mounts.names
}

// FS is each file system's use in percent, in the order of Mounts.
func (p *Point) FS() []float32 {
	if p.mounts == nil {
		return nil
	}
	return p.Vals[p.NCores:]
}

// pointFrom is the history sample of a snapshot's figures received at at.
func pointFrom(f *Figures, at time.Time) Point {
	p := Point{T: at.UnixMilli(), CPU: float32(f.CPU), Mem: float32(f.Mem), Swap: float32(f.Swap),
		Load1: float32(f.Load1), Load5: float32(f.Load5), Load15: float32(f.Load15),
		Rx: float32(f.Rx), Tx: float32(f.Tx), Rd: float32(f.Rd), Wr: float32(f.Wr)}
	if n := len(f.PerCore) + len(f.Filesystems); n > 0 {
		p.Vals = make([]float32, n)
		p.NCores = int32(len(f.PerCore))
		for i, c := range f.PerCore {
			p.Vals[i] = float32(c)
		}
		fs := p.Vals[len(f.PerCore):]
		for i, m := range f.Filesystems {
			fs[i] = float32(m.Percent)
		}
	}
	return p
}
