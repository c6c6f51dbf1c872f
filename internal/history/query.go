package history

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// point is one point of an answer: a sample (raw) or a bucket's aggregate.
type point struct {
	t     int64 // unix ms
	g     agg
	cores []stat
	null  bool // a gap's marker
}

func (p *point) addSample(s *Sample) {
	p.g.add(s)
	if len(p.cores) < len(s.Cores) {
		p.cores = append(p.cores, make([]stat, len(s.Cores)-len(p.cores))...)
	}
	for i, c := range s.Cores {
		p.cores[i].add(c)
	}
}

// Query answers host's figures from from to to. It reads the finest tier
// whose retention covers from (or, when step asks for it, the coarsest
// whose own step fits in step), and folds its rows into buckets when there
// would be more than MaxPoints, or when step is wider than the tier's.
// One point of nulls marks each gap: in raw samples a spacing over 2.5
// times the median, in buckets a run of empty ones.
func (s *Store) Query(ctx context.Context, host string, from, to time.Time, step time.Duration) (*Series, error) {
	if !to.After(from) {
		return nil, fmt.Errorf("history query: to (%s) is not after from (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	if step < 0 {
		return nil, errors.New("history query: negative step")
	}
	now := s.now()
	tier := s.pickTier(now, from, step)
	span := to.Sub(from)
	native := time.Duration(tierSpan[tier]) * time.Second
	if tier == tRaw {
		native = 0
	}
	// The bucket width: at least step and the tier's own, and wide enough
	// for MaxPoints, in whole multiples of the tier's (or of a second).
	unit := max(native, time.Second)
	w := max(step, native, (span+MaxPoints-1)/MaxPoints)
	w = (w + unit - 1) / unit * unit

	var pts []point
	var err error
	bucketed := true
	if tier == tRaw {
		pts, bucketed, err = s.queryRaw(ctx, host, from, to, step, w)
	} else {
		pts, err = s.queryAgg(ctx, tier, host, from, to, w)
	}
	if err != nil {
		return nil, err
	}
	se := &Series{Host: host, From: from, To: to, Tier: string(bTiers[tier]), Figures: map[string]*Band{}}
	if bucketed {
		se.StepSeconds = w.Seconds()
	}
	build(se, pts, bucketed)
	return se, nil
}

func (s *Store) pickTier(now, from time.Time, step time.Duration) int {
	rets := [3]time.Duration{s.ret.Raw, s.ret.Minute, s.ret.Hour}
	pick := -1
	for t := range 3 {
		// A little slack: a range that starts a minute before the tier's
		// retention is still answered by it, with a gap at its start.
		if from.Before(now.Add(-rets[t] - rets[t]/50 - time.Minute)) {
			continue
		}
		nat := time.Duration(tierSpan[t]) * time.Second
		if t == tRaw {
			nat = 0
		}
		if pick < 0 || step >= nat {
			pick = t
		}
		if step < time.Minute || step < nat {
			break
		}
	}
	if pick < 0 {
		pick = tHour
	}
	return pick
}

// queryRaw reads raw samples; if they are more than MaxPoints, or step
// asks, it folds them into buckets w wide (and says so).
func (s *Store) queryRaw(ctx context.Context, host string, from, to time.Time, step, w time.Duration) ([]point, bool, error) {
	var smps []Sample
	lo, hi := from.UnixMilli(), to.UnixMilli()
	in := func(x Sample) bool { ms := x.T.UnixMilli(); return ms >= lo && ms <= hi }
	err := s.db.View(func(tx *bolt.Tx) error {
		hb := tx.Bucket(bTiers[tRaw]).Bucket([]byte(host))
		if hb == nil {
			return nil
		}
		c := hb.Cursor()
		end := minuteOf(to)
		for k, v := c.Seek(timeKey(minuteOf(from))); k != nil && keyTime(k) <= end; k, v = c.Next() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			all, err := decodeChunk(v, keyTime(k)*1000, nil)
			if err != nil {
				continue // an unreadable row is a gap, not a failed chart
			}
			for _, x := range all {
				if in(x) {
					smps = append(smps, x)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("history query: %w", err)
	}
	s.headMu.RLock()
	for m, b := range s.head[host] {
		if m+60 < from.Unix() || m > to.Unix() {
			continue
		}
		all, _ := decodeChunk(b, 0, nil)
		for _, x := range all {
			if in(x) {
				smps = append(smps, x)
			}
		}
	}
	s.headMu.RUnlock()
	slices.SortStableFunc(smps, func(a, b Sample) int { return a.T.Compare(b.T) })
	smps = slices.CompactFunc(smps, func(a, b Sample) bool { return a.T.Equal(b.T) })

	if len(smps) <= MaxPoints && step == 0 {
		return rawPoints(smps), false, nil
	}
	wms := w.Milliseconds()
	var pts []point
	for i := range smps {
		t := smps[i].T.UnixMilli()
		b := t - mod(t, wms)
		if len(pts) == 0 || pts[len(pts)-1].t != b {
			pts = append(pts, point{t: b})
		}
		pts[len(pts)-1].addSample(&smps[i])
	}
	return withGaps(pts, wms), true, nil
}

// rawPoints makes one point per sample and marks gaps: a spacing over 2.5
// times the median one gets a point of nulls just after its start.
func rawPoints(smps []Sample) []point {
	pts := make([]point, 0, len(smps)+8)
	var med int64
	if len(smps) > 2 {
		d := make([]int64, len(smps)-1)
		for i := 1; i < len(smps); i++ {
			d[i-1] = smps[i].T.UnixMilli() - smps[i-1].T.UnixMilli()
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		med = d[len(d)/2]
	}
	for i := range smps {
		t := smps[i].T.UnixMilli()
		if i > 0 && med > 0 {
			prev := smps[i-1].T.UnixMilli()
			if 2*(t-prev) > 5*med {
				pts = append(pts, point{t: prev + med, null: true})
			}
		}
		var p point
		p.t = t
		p.addSample(&smps[i])
		pts = append(pts, p)
	}
	return pts
}

// withGaps puts one point of nulls in each run of empty buckets.
func withGaps(pts []point, wms int64) []point {
	out := make([]point, 0, len(pts)+8)
	for i := range pts {
		if i > 0 && pts[i].t-pts[i-1].t > wms {
			out = append(out, point{t: pts[i-1].t + wms, null: true})
		}
		out = append(out, pts[i])
	}
	return out
}

// queryAgg reads tier's rows and merges them into buckets w wide.
func (s *Store) queryAgg(ctx context.Context, tier int, host string, from, to time.Time, w time.Duration) ([]point, error) {
	var pts []point
	ws := int64(w / time.Second)
	err := s.db.View(func(tx *bolt.Tx) error {
		hb := tx.Bucket(bTiers[tier]).Bucket([]byte(host))
		if hb == nil {
			return nil
		}
		c := hb.Cursor()
		first := from.Unix() - mod(from.Unix(), tierSpan[tier])
		n := 0
		for k, v := c.Seek(timeKey(first)); k != nil && keyTime(k) <= to.Unix(); k, v = c.Next() {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			g, err := decodeAgg(v, s.mountName)
			if err != nil {
				continue
			}
			u := keyTime(k)
			b := (u - mod(u, ws)) * 1000
			if len(pts) == 0 || pts[len(pts)-1].t != b {
				pts = append(pts, point{t: b})
			}
			pts[len(pts)-1].g.merge(&g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history query: %w", err)
	}
	return withGaps(pts, ws*1000), nil
}

// build writes the points into the series' columns.
func build(se *Series, pts []point, bands bool) {
	n := len(pts)
	se.T = make([]int64, n)
	band := func() *Band {
		b := &Band{Mean: nanValues(n)}
		if bands {
			b.Min, b.Max = nanValues(n), nanValues(n)
		}
		return b
	}
	put := func(b *Band, i int, a stat) {
		if a.N == 0 {
			return
		}
		b.Mean[i] = a.mean()
		if b.Min != nil {
			b.Min[i], b.Max[i] = a.Min, a.Max
		}
	}
	for i := range pts {
		p := &pts[i]
		se.T[i] = p.t
		if p.null {
			continue
		}
		for j, a := range p.g.Sc {
			if a.N == 0 {
				continue
			}
			b := se.Figures[scalarNames[j]]
			if b == nil {
				b = band()
				se.Figures[scalarNames[j]] = b
			}
			put(b, i, a)
		}
		for _, f := range p.g.FS {
			name := "fs:" + f.Mount
			b := se.Figures[name]
			if b == nil {
				b = band()
				se.Figures[name] = b
			}
			put(b, i, f.stat)
		}
		for len(se.Cores) < len(p.cores) {
			se.Cores = append(se.Cores, band())
		}
		for j, a := range p.cores {
			put(se.Cores[j], i, a)
		}
	}
}

func nanValues(n int) Values {
	v := make(Values, n)
	for i := range v {
		v[i] = float32(math.NaN())
	}
	return v
}
