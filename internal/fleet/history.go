package fleet

import (
	"slices"
	"unsafe"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// Bounds on what one host's mount points may cost in its history: a
// publisher whose mounts change at every snapshot (hostile, or a machine
// mounting a new container volume each second) must not make every point
// hold its own copy of a thousand names.
const (
	maxMountSets     = 4        // distinct mount lists kept in one host's history
	maxMountSetBytes = 64 << 10 // their names and slices, beyond the newest list
)

var pointSize = int64(unsafe.Sizeof(Point{}))

// history is one host's bounded, compact history: a ring of up to size
// points, grown as points arrive (a host seen once costs one point, not
// size), and the mount lists its points refer to. Mount lists are shared
// between points while equal, and their names are the figures' (which the
// fleet interns, keep.go), so a point costs its fixed size and four bytes
// per core and file system.
type history struct {
	pts     []Point // ring
	head, n int
	sets    []*mountSet // distinct mount lists referenced by pts, oldest first
	// valsBytes and setBytes are what the points' values and the mount lists
	// (names included) take; the ring itself is cap(pts) points.
	valsBytes, setBytes int64
}

// mountSet is one host's list of mount points; never modified once built,
// so points copied out of the lock can still read it.
type mountSet struct {
	names []string
	refs  int   // points referring to it
	cost  int64 // as accounted: the list and its names, as if each were its own copy
}

func setCost(n int) int64     { return 48 + 16*int64(n) }
func nameCost(s string) int64 { return 96 + int64(len(s)) } // an upper bound of a string's own copy
func valsCost(c int) int64    { return (4*int64(c) + 7) &^ 7 }

// bytes is what the history takes in memory, as accounted.
func (hs *history) bytes() int64 {
	return int64(cap(hs.pts))*pointSize + hs.valsBytes + hs.setBytes
}

// mountsFor returns the mount list of f, shared with earlier points when it
// is one the history already holds.
func (hs *history) mountsFor(f *Figures) *mountSet {
	if len(f.Filesystems) == 0 {
		return nil
	}
	for i := len(hs.sets) - 1; i >= 0; i-- {
		if sameMounts(hs.sets[i].names, f.Filesystems) {
			return hs.sets[i]
		}
	}
	set := &mountSet{names: make([]string, 0, len(f.Filesystems)), cost: setCost(len(f.Filesystems))}
	for _, fs := range f.Filesystems {
		set.names = append(set.names, fs.Mountpoint)
		set.cost += nameCost(fs.Mountpoint)
	}
	hs.sets = append(hs.sets, set)
	hs.setBytes += set.cost
	for len(hs.sets) > 1 && (len(hs.sets) > maxMountSets || hs.setBytes-set.cost > maxMountSetBytes) {
		hs.dropSet(hs.sets[0])
	}
	return set
}

func sameMounts(names []string, fss []snapshot.Filesystem) bool {
	if len(names) != len(fss) {
		return false
	}
	for i, fs := range fss {
		if names[i] != fs.Mountpoint {
			return false
		}
	}
	return true
}

// dropSet forgets a mount list; points still referring to it lose their file
// system values (their other values stay).
func (hs *history) dropSet(set *mountSet) {
	for i := 0; i < hs.n && set.refs > 0; i++ {
		p := &hs.pts[(hs.head+i)%len(hs.pts)]
		if p.mounts == set {
			p.mounts, p.Vals = nil, p.Vals[:p.NCores]
			set.refs--
		}
	}
	hs.sets = slices.DeleteFunc(hs.sets, func(s *mountSet) bool { return s == set })
	hs.setBytes -= set.cost
}

func (hs *history) release(p *Point) {
	hs.valsBytes -= valsCost(cap(p.Vals))
	if p.mounts != nil {
		if p.mounts.refs--; p.mounts.refs == 0 {
			hs.dropSet(p.mounts)
		}
	}
	*p = Point{}
}

// push appends p, overwriting the oldest point once size points are kept.
func (hs *history) push(p Point, size int) {
	if size <= 0 {
		if p.mounts != nil && p.mounts.refs == 0 {
			hs.dropSet(p.mounts)
		}
		return
	}
	if p.mounts != nil {
		p.mounts.refs++
	}
	hs.valsBytes += valsCost(cap(p.Vals))
	switch {
	case hs.n < len(hs.pts):
		hs.pts[(hs.head+hs.n)%len(hs.pts)] = p
		hs.n++
	case len(hs.pts) < size && hs.head == 0:
		if len(hs.pts) == cap(hs.pts) {
			grown := make([]Point, len(hs.pts), min(max(2*cap(hs.pts), 4), size))
			copy(grown, hs.pts)
			hs.pts = grown
		}
		hs.pts = append(hs.pts, p)
		hs.n++
	default:
		hs.release(&hs.pts[hs.head])
		hs.pts[hs.head] = p
		hs.head = (hs.head + 1) % len(hs.pts)
	}
}

// dropOldest forgets the oldest point; false if there is none.
func (hs *history) dropOldest() bool {
	if hs.n == 0 {
		return false
	}
	hs.release(&hs.pts[hs.head])
	hs.head = (hs.head + 1) % len(hs.pts)
	hs.n--
	if hs.n == 0 {
		hs.head = 0
	}
	return true
}

// last returns up to n points, oldest first, as copies that stay valid
// outside the fleet's lock (their values and mount lists are never
// modified).
func (hs *history) last(n int) []Point {
	n = min(n, hs.n)
	out := make([]Point, 0, n)
	for i := hs.n - n; i < hs.n; i++ {
		out = append(out, hs.pts[(hs.head+i)%len(hs.pts)])
	}
	return out
}
