package history

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"time"
)

// The on-disk encodings: compact, little-endian, self-delimiting, so that a
// minute of one host's samples (a raw chunk) or one aggregate row costs a
// few hundred bytes. Everything here is pure and fuzzed against itself.

// nScalars is the number of scalar figures of a Sample, in scalarNames order.
const nScalars = 10

// scalarNames are the figures' names in Series.Figures, in encoding order.
var scalarNames = [nScalars]string{"cpu", "mem", "swap", "load1", "load5", "load15", "rx", "tx", "rd", "wr"}

func scalars(s *Sample) [nScalars]float32 {
	return [nScalars]float32{s.CPU, s.Mem, s.Swap, s.Load1, s.Load5, s.Load15, s.Rx, s.Tx, s.Rd, s.Wr}
}

func setScalars(s *Sample, v [nScalars]float32) {
	s.CPU, s.Mem, s.Swap, s.Load1, s.Load5, s.Load15, s.Rx, s.Tx, s.Rd, s.Wr =
		v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]
}

var errCorrupt = errors.New("corrupt record")

func isNaN(f float32) bool { return f != f }

var nan32 = float32(math.NaN())

// appendSample encodes s with its time in unix milliseconds after base (0
// in the write-ahead log and the head; the row's start in a raw row, where
// it takes 2 or 3 bytes). A chunk is samples one after the other. A scalar
// that is NaN costs one bit.
func appendSample(b []byte, s *Sample, base int64) []byte {
	b = binary.AppendVarint(b, s.T.UnixMilli()-base)
	v := scalars(s)
	var mask uint16
	for i, x := range v {
		if !isNaN(x) {
			mask |= 1 << i
		}
	}
	b = binary.LittleEndian.AppendUint16(b, mask)
	for i, x := range v {
		if mask&(1<<i) != 0 {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(s.Cores)))
	for _, c := range s.Cores {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(c))
	}
	b = binary.AppendUvarint(b, uint64(len(s.FS)))
	for _, f := range s.FS {
		b = appendString(b, f.Mount)
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f.Pct))
	}
	return b
}

// reader decodes what the append functions wrote; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) u16() uint16 {
	if len(r.b) < 2 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) f32() float32 {
	if len(r.b) < 4 {
		r.fail()
		return 0
	}
	v := math.Float32frombits(binary.LittleEndian.Uint32(r.b))
	r.b = r.b[4:]
	return v
}

func (r *reader) count(max int) int {
	n := r.uvarint()
	if n > uint64(max) || n > uint64(len(r.b)) { // every element takes a byte at least
		r.fail()
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// strReuse is str returning prev when it is the same string.
func (r *reader) strReuse(prev string) string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	b := r.b[:n]
	r.b = r.b[n:]
	if string(b) == prev {
		return prev
	}
	return string(b)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Limits on decoded counts: a corrupt length never allocates much.
const (
	maxCores = 4096
	maxFS    = 256
)

func (r *reader) sample(base int64) Sample {
	var s Sample
	r.sampleInto(base, &s)
	return s
}

// sampleInto decodes a sample into s, reusing its slices and its mount
// names where they are the same: decoding a chunk one sample at a time
// into one Sample allocates nothing once the first is in.
func (r *reader) sampleInto(base int64, s *Sample) {
	s.T = time.UnixMilli(base + r.varint())
	mask := r.u16()
	var v [nScalars]float32
	for i := range v {
		v[i] = nan32
		if mask&(1<<i) != 0 {
			v[i] = r.f32()
		}
	}
	setScalars(s, v)
	s.Cores = s.Cores[:0]
	if n := r.count(maxCores); n > 0 {
		s.Cores = slices.Grow(s.Cores, n)
		for range n {
			s.Cores = append(s.Cores, r.f32())
		}
	}
	n := r.count(maxFS)
	if n > cap(s.FS) {
		s.FS = append(s.FS[:cap(s.FS)], make([]FSUse, n-cap(s.FS))...)
	}
	s.FS = s.FS[:n]
	for i := range s.FS {
		s.FS[i].Mount = r.strReuse(s.FS[i].Mount)
		s.FS[i].Pct = r.f32()
	}
}

// decodeChunk decodes a chunk: samples one after the other, their times
// after base (unix ms).
func decodeChunk(b []byte, base int64, out []Sample) ([]Sample, error) {
	r := reader{b: b}
	for len(r.b) > 0 && r.err == nil {
		s := r.sample(base)
		if r.err == nil {
			out = append(out, s)
		}
	}
	return out, r.err
}

// stat is one figure's aggregate: mergeable, so that late samples can be
// folded into a bucket that already exists.
type stat struct {
	N             uint32
	Sum, Min, Max float32
}

func (a *stat) add(x float32) {
	if isNaN(x) {
		return
	}
	if a.N == 0 || x < a.Min {
		a.Min = x
	}
	if a.N == 0 || x > a.Max {
		a.Max = x
	}
	a.N++
	a.Sum += x
}

func (a *stat) merge(b stat) {
	if b.N == 0 {
		return
	}
	if a.N == 0 || b.Min < a.Min {
		a.Min = b.Min
	}
	if a.N == 0 || b.Max > a.Max {
		a.Max = b.Max
	}
	a.N += b.N
	a.Sum += b.Sum
}

func (a stat) mean() float32 {
	if a.N == 0 {
		return nan32
	}
	return a.Sum / float32(a.N)
}

// agg is one bucket (a minute or an hour) of one host: count, sum, min and
// max of each scalar figure and of each file system's use. Per-core figures
// are not aggregated (raw tier only): they would triple the row for figures
// that the overall CPU already summarises.
type agg struct {
	N  uint32 // samples folded in
	Sc [nScalars]stat
	FS []fsStat
}

type fsStat struct {
	Mount string
	stat
}

func (g *agg) add(s *Sample) {
	g.N++
	for i, x := range scalars(s) {
		g.Sc[i].add(x)
	}
	for _, f := range s.FS {
		g.fs(f.Mount).add(f.Pct)
	}
}

func (g *agg) fs(mount string) *stat {
	for i := range g.FS {
		if g.FS[i].Mount == mount {
			return &g.FS[i].stat
		}
	}
	g.FS = append(g.FS, fsStat{Mount: mount})
	return &g.FS[len(g.FS)-1].stat
}

func (g *agg) merge(o *agg) {
	g.N += o.N
	for i := range g.Sc {
		g.Sc[i].merge(o.Sc[i])
	}
	for _, f := range o.FS {
		g.fs(f.Mount).merge(f.stat)
	}
}

// appendAgg encodes g. Most figures were present in every sample: their
// count is the row's and is not repeated (a mask says which are). A figure
// that did not move in the bucket (a file system's use, swap, often) keeps
// one value instead of three (another mask).
//
// File systems are named by a number (mounts.go): the same few mount
// points on every host and row.
func appendAgg(b []byte, g *agg, id func(string) uint64) []byte {
	b = binary.AppendUvarint(b, uint64(g.N))
	var present, full, flat uint16
	for i, a := range g.Sc {
		if a.N > 0 {
			present |= 1 << i
		}
		if a.N == g.N {
			full |= 1 << i
		}
		if a.Min == a.Max {
			flat |= 1 << i
		}
	}
	b = binary.LittleEndian.AppendUint16(b, present)
	b = binary.LittleEndian.AppendUint16(b, full)
	b = binary.LittleEndian.AppendUint16(b, flat)
	for i, a := range g.Sc {
		if present&(1<<i) == 0 {
			continue
		}
		if full&(1<<i) == 0 {
			b = binary.AppendUvarint(b, uint64(a.N))
		}
		b = appendStat(b, a, flat&(1<<i) != 0)
	}
	b = binary.AppendUvarint(b, uint64(len(g.FS)))
	for _, f := range g.FS {
		b = binary.AppendUvarint(b, id(f.Mount))
		isFlat := f.Min == f.Max
		nf := uint64(f.N) << 1
		if isFlat {
			nf |= 1
		}
		b = binary.AppendUvarint(b, nf)
		b = appendStat(b, f.stat, isFlat)
	}
	return b
}

func appendStat(b []byte, a stat, flat bool) []byte {
	if flat {
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(a.Min))
	}
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(a.Sum))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(a.Min))
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(a.Max))
}

func (r *reader) stat(n uint32, flat bool) stat {
	if flat {
		v := r.f32()
		return stat{N: n, Sum: v * float32(n), Min: v, Max: v}
	}
	return stat{N: n, Sum: r.f32(), Min: r.f32(), Max: r.f32()}
}

func decodeAgg(b []byte, name func(uint64) string) (agg, error) {
	r := reader{b: b}
	var g agg
	g.N = uint32(r.uvarint())
	present, full, flat := r.u16(), r.u16(), r.u16()
	for i := range g.Sc {
		if present&(1<<i) == 0 {
			continue
		}
		n := g.N
		if full&(1<<i) == 0 {
			n = uint32(r.uvarint())
		}
		g.Sc[i] = r.stat(n, flat&(1<<i) != 0)
	}
	if n := r.count(maxFS); n > 0 {
		g.FS = make([]fsStat, n)
		for i := range g.FS {
			g.FS[i].Mount = name(r.uvarint())
			nf := r.uvarint()
			g.FS[i].stat = r.stat(uint32(nf>>1), nf&1 != 0)
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	return g, r.err
}

// Keys: a bucket's start in unix seconds, big-endian so that bbolt's byte
// order is time order.
func timeKey(t int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(t))
}

func keyTime(k []byte) int64 {
	if len(k) < 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(k))
}
