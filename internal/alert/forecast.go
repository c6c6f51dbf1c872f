package alert

import (
	"fmt"
	"math"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// fit keeps the least-squares sums of a file system's use in a few time
// buckets: memory per file system stays constant (a few hundred bytes)
// however often its host reports, and the fit over the window is exact.
type fit struct {
	buckets []bucket // oldest first
	last    float64  // Unix seconds of the newest sample
	lastUse float64
}

// bucket holds sums with t in seconds since start (small numbers: no loss
// of precision in Σt²).
type bucket struct {
	start               int64
	n, st, sy, stt, sty float64
	first, latest       float64 // Unix seconds of its first and last samples
}

// forecast feeds the host's file systems to their fits and evaluates them.
func (c *checker) forecast(ent *fleet.Entry) {
	e := c.e
	if e.cfg.ForecastWindow <= 0 {
		return
	}
	at := ent.LastSeen
	if t := ent.Figures.SampledAt; t != nil {
		// The host's own clock: samples injected or replayed later
		// keep their spacing, and a clock offset cancels out.
		at = *t
	}
	ts := float64(at.UnixNano()) / 1e9
	width := int64(e.cfg.ForecastWindow/time.Second) / 6
	width = max(width, 1)
	fits := e.fits[ent.Host]
	if fits == nil {
		fits = map[string]*fit{}
		e.fits[ent.Host] = fits
	}
	for _, fs := range ent.Figures.Filesystems {
		if fs.Total == 0 || math.IsNaN(fs.Percent) {
			continue
		}
		k := Key{Rule: DiskForecast, Host: ent.Host, Mount: fs.Mountpoint}
		f := fits[fs.Mountpoint]
		if f == nil {
			if len(fits) >= maxFits {
				continue
			}
			f = &fit{}
			fits[fs.Mountpoint] = f
		}
		if ts > f.last {
			f.add(ts, fs.Percent, width, e.cfg.ForecastWindow.Seconds())
		}
		hours, ok := f.hoursToFull(e.cfg.ForecastMinPoints, e.cfg.ForecastMinSpan.Seconds())
		if !ok {
			continue
		}
		hours = min(hours, 1e6) // +Inf has no JSON
		horizon := e.cfg.ForecastHorizon.Hours()
		summary := func() string {
			return fmt.Sprintf("%s %s will be full in about %.1f h at its rate of the last %s (%.1f%% used)",
				ent.Host, fs.Mountpoint, hours, e.cfg.ForecastWindow, fs.Percent)
		}
		c.held(k, hours, hours <= horizon, hours > horizon, summary, 0)
	}
	// File systems gone from the host (unmounted): forget their fits.
	if len(fits) > len(ent.Figures.Filesystems) || len(fits) == maxFits {
		for m := range fits {
			if !hasMount(ent.Figures.Filesystems, m) {
				delete(fits, m)
				c.resolve(Key{Rule: DiskForecast, Host: ent.Host, Mount: m}, 0)
			}
		}
	}
}

// maxFits bounds the file systems followed per host (a node with thousands
// of container mounts must not take the consumer's memory).
const maxFits = 64

func (f *fit) add(ts, use float64, width int64, window float64) {
	start := int64(ts) / width * width
	if n := len(f.buckets); n == 0 || f.buckets[n-1].start != start {
		f.buckets = append(f.buckets, bucket{start: start, first: ts})
	}
	b := &f.buckets[len(f.buckets)-1]
	t := ts - float64(b.start)
	b.n++
	b.st += t
	b.sy += use
	b.stt += t * t
	b.sty += t * use
	b.latest = ts
	f.last, f.lastUse = ts, use
	drop := 0
	for drop < len(f.buckets) && float64(f.buckets[drop].start+width) <= ts-window {
		drop++
	}
	f.buckets = append(f.buckets[:0], f.buckets[drop:]...)
}

// hoursToFull is when the line through the samples reaches 100 %, from
// the newest sample; +Inf when use does not grow. ok is false until there
// are enough samples over a long enough span to believe a line.
func (f *fit) hoursToFull(minPoints int, minSpan float64) (hours float64, ok bool) {
	if len(f.buckets) == 0 {
		return 0, false
	}
	origin := float64(f.buckets[len(f.buckets)-1].start)
	var n, st, sy, stt, sty float64
	for _, b := range f.buckets {
		// Shift the bucket's sums from its start to the common origin.
		d := float64(b.start) - origin
		n += b.n
		st += b.st + b.n*d
		sy += b.sy
		stt += b.stt + 2*d*b.st + b.n*d*d
		sty += b.sty + d*b.sy
	}
	if n < float64(minPoints) || f.last-f.buckets[0].first < minSpan {
		return 0, false
	}
	den := n*stt - st*st
	if den <= 0 {
		return 0, false
	}
	slope := (n*sty - st*sy) / den // percent per second
	if slope <= 0 {
		return math.Inf(1), true
	}
	icept := (sy - slope*st) / n
	now := icept + slope*(f.last-origin)
	return max(100-now, 0) / slope / 3600, true
}

func hasMount(fss []snapshot.Filesystem, m string) bool {
	for _, fs := range fss {
		if fs.Mountpoint == m {
			return true
		}
	}
	return false
}
