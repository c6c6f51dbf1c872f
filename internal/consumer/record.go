package consumer

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/history"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// Store is what the consumer writes to the history store: samples, events
// and each host's latest message (to restore the fleet after a restart).
// Every method returns at once; the store writes behind.
type Store interface {
	Add(host string, s history.Sample)
	AddEvent(e history.Event)
	SaveLatest(host string, l history.Latest)
}

// Recorder writes the fleet's history: every accepted snapshot's figures, at
// the time the host sampled them, and each host's changes of state
// (online, stale, offline, goodbye, restart), once per change.
type Recorder struct {
	fleet *fleet.Fleet
	store Store
	// maxAge is the oldest sampling time believed: a host whose clock says
	// 1970 is filed at receipt, not before every retention.
	maxAge time.Duration

	log *slog.Logger

	views []fleet.HostState // Tick's, kept between ticks (Tick is not concurrent)

	mu         sync.Mutex
	hosts      map[string]*tracked
	gen        uint64
	suppressed atomic.Uint64
	// What spares Tick a look at every host (100,000 of them take a
	// tenth of a second of a core, every second): the soonest a host's
	// state changes with time alone, of those it saw and those accepted
	// since (due, math.MaxInt64 when none will), the fleet's removals and
	// when it last looked.
	due     int64 // unix nanoseconds
	removed uint64
	looked  time.Time
}

type tracked struct {
	state    string // fleet.Live, Stale, Offline, or goodbye
	instance string
	seen     time.Time // receipt of the last snapshot
	gen      uint64    // of the last tick that saw the host
	// Events written in the current minute (from minute): a publisher
	// that changes its instance id at every message must not fill the
	// store with events.
	minute time.Time
	inMin  int
}

// MaxEventsPerMinute bounds the events one host writes in a minute; more
// are dropped and counted (Recorder.Suppressed), and logged once.
const MaxEventsPerMinute = 10

const goodbye = "goodbye"

// MaxSkew is how far in the future a sampling time may be (clocks differ a
// little); beyond, the snapshot is filed at its receipt.
const MaxSkew = time.Minute

// NewRecorder returns a recorder of f's changes into store. maxAge is the
// longest retention: a sampling time older than that is not believed.
func NewRecorder(f *fleet.Fleet, store Store, maxAge time.Duration, log *slog.Logger) *Recorder {
	return &Recorder{fleet: f, store: store, maxAge: maxAge, log: log, hosts: map[string]*tracked{}}
}

// Suppressed counts the events dropped over MaxEventsPerMinute.
func (r *Recorder) Suppressed() uint64 { return r.suppressed.Load() }

// SampleTime is when a snapshot received at now is filed: its sampling time
// (late snapshots from a publisher's outbox land where they belong), or
// now for a prototype message, which has none with a zone, and for a time
// in the future or older than maxAge.
func SampleTime(sampled *time.Time, now time.Time, maxAge time.Duration) time.Time {
	if sampled == nil || sampled.After(now.Add(MaxSkew)) || now.Sub(*sampled) > maxAge {
		return now
	}
	return *sampled
}

// SampleOf is the history sample of a snapshot's figures, filed at t.
func SampleOf(f *fleet.Figures, t time.Time) history.Sample {
	s := history.Sample{T: t, CPU: float32(f.CPU), Mem: float32(f.Mem), Swap: float32(f.Swap),
		Load1: float32(f.Load1), Load5: float32(f.Load5), Load15: float32(f.Load15),
		Rx: float32(f.Rx), Tx: float32(f.Tx), Rd: float32(f.Rd), Wr: float32(f.Wr)}
	if len(f.PerCore) > 0 {
		s.Cores = make([]float32, len(f.PerCore))
		for i, c := range f.PerCore {
			s.Cores[i] = float32(c)
		}
	}
	if len(f.Filesystems) > 0 {
		s.FS = make([]history.FSUse, len(f.Filesystems))
		for i, fs := range f.Filesystems {
			s.FS[i] = history.FSUse{Mount: fs.Mountpoint, Pct: float32(fs.Percent)}
		}
	}
	return s
}

// Accepted records a snapshot the fleet accepted at now: its sample, the
// host's latest message, and the events it makes (online, restart,
// goodbye).
func (r *Recorder) Accepted(s *snapshot.Snapshot, body []byte, routingKey string, now time.Time) {
	name, _ := fleet.HostKey(s, routingKey)
	fig := fleet.Derive(s)
	r.store.Add(name, SampleOf(&fig, SampleTime(fig.SampledAt, now, r.maxAge)))
	// The fleet's compacted copy, which it keeps anyway (packed), rather
	// than the delivery's body: a store holding 100,000 hosts' latest
	// until it writes them costs no memory of its own.
	latest := history.Latest{Host: name, RoutingKey: routingKey, LastSeen: now}
	e, _, found := r.fleet.Host(name, now, 0)
	if found && !e.Snapshot.IsZero() {
		latest.Packed = e.Snapshot
	} else {
		latest.Body = body
	}
	r.store.SaveLatest(name, latest)

	r.mu.Lock()
	defer r.mu.Unlock()
	if found {
		r.dueAt(r.fleet.NextChange(&e, now))
	}
	t := r.hosts[name]
	if t == nil {
		t = &tracked{gen: r.gen}
		r.hosts[name] = t
	}
	if t.instance != "" && s.InstanceID != "" && s.InstanceID != t.instance {
		r.event(t, now, name, history.EventRestart, fmt.Sprintf("new instance %s (was %s)", s.InstanceID, t.instance))
	}
	if s.InstanceID != "" && s.InstanceID != t.instance {
		t.instance = s.InstanceID // not each snapshot's copy of the same id
	}
	t.seen = now
	if s.Goodbye {
		r.event(t, now, name, history.EventGoodbye, "")
		t.state = goodbye
		return
	}
	if t.state != fleet.Live {
		detail := ""
		if t.state != "" {
			detail = "was " + t.state
		}
		r.event(t, now, name, history.EventOnline, detail)
		t.state = fleet.Live
	}
}

// event writes one event of host (tracked as tr), within its budget. The
// caller holds r.mu.
func (r *Recorder) event(tr *tracked, t time.Time, host, kind, detail string) {
	if t.Sub(tr.minute) >= time.Minute || t.Before(tr.minute) {
		tr.minute, tr.inMin = t, 0
	}
	if tr.inMin++; tr.inMin > MaxEventsPerMinute {
		if r.suppressed.Add(1) == 1 {
			r.log.Warn("a host changes state more than 10 times a minute (its instance id at every message?): its further events are dropped and counted (logged once)",
				"host", truncate(host, 64), "kind", kind)
		}
		return
	}
	r.store.AddEvent(history.Event{T: t, Host: host, Kind: kind, Detail: detail})
}

// dueAt lowers due to t (zero: never). The caller holds r.mu.
func (r *Recorder) dueAt(t time.Time) {
	if !t.IsZero() {
		r.due = min(r.due, t.UnixNano())
	}
}

// Tick records the hosts that went stale or offline by now (time makes
// them so, not a message), and forgets those the fleet forgot. A host it
// meets for the first time (restored after a restart) is taken in its
// current state, without an event. Calls of Tick must not overlap.
//
// It looks at every host only when one may have changed: a host's state
// is due to change with time, or the fleet removed one; and once a minute
// (a host forgotten less than a minute before the last look is forgotten
// at a later one).
func (r *Recorder) Tick(now time.Time) {
	removed := r.fleet.Removed()
	r.mu.Lock()
	if !r.looked.IsZero() && now.UnixNano() < r.due && removed == r.removed && now.Sub(r.looked) < time.Minute && !now.Before(r.looked) {
		r.mu.Unlock()
		return
	}
	// Snapshots accepted from here on lower due; the look below finds
	// the rest.
	r.due, r.removed, r.looked = math.MaxInt64, removed, now
	r.mu.Unlock()
	r.views = r.fleet.States(now, r.views)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	for i := range r.views {
		v := &r.views[i]
		r.dueAt(v.Next)
		t := r.hosts[v.Name]
		if t == nil {
			r.hosts[v.Name] = &tracked{state: v.Status, instance: v.Instance, seen: v.LastSeen, gen: r.gen}
			continue
		}
		t.gen = r.gen
		if v.LastSeen.Before(t.seen) {
			continue // a snapshot arrived after the fleet was read
		}
		switch {
		case v.Status == fleet.Stale && t.state == fleet.Live:
			r.event(t, now, v.Name, history.EventStale, "")
			t.state = fleet.Stale
		case v.Status == fleet.Offline && (t.state == fleet.Live || t.state == fleet.Stale):
			r.event(t, now, v.Name, history.EventOffline, "")
			t.state = fleet.Offline
		}
	}
	for name, t := range r.hosts {
		// Forgotten by the fleet (expired, evicted); one that arrived after
		// the fleet was read is not.
		if t.gen != r.gen && t.seen.Before(now.Add(-time.Minute)) {
			delete(r.hosts, name)
		}
	}
	// The views hold each host's snapshot as it was: until the next look,
	// up to a minute later, they would keep a second copy of the fleet's.
	clear(r.views)
}

// Run ticks every second until ctx ends.
func (r *Recorder) Run(ctx context.Context) error {
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tk.C:
			r.Tick(now)
		}
	}
}

// Restore refills the fleet from what the store kept before a restart:
// each host's latest message, received when it was (its chart is the
// store's: fleet.Config.Recent). A message that no longer decodes (a newer limit, a damaged
// store) is skipped and counted; the next snapshot of its host brings it
// back. A host offline for longer than expire (0: never) is left out, as
// the fleet would forget it. It returns the hosts restored and skipped.
func Restore(f *fleet.Fleet, latest []history.Latest, maxBytes int, expire time.Duration, log *slog.Logger) (restored, skipped int) {
	for _, l := range latest {
		if expire > 0 && time.Since(l.LastSeen) > expire {
			continue
		}
		s, err := snapshot.Decode(l.Body, maxBytes)
		if err == nil && s.Host == "" {
			err = snapshot.CheckHost(l.RoutingKey)
		}
		if err == nil {
			if name, _ := fleet.HostKey(s, l.RoutingKey); name != l.Host {
				err = fmt.Errorf("filed under %q but names %q", l.Host, name)
			}
		}
		if err != nil {
			if skipped++; skipped == 1 {
				log.Warn("skipped a host kept from before the restart: its last message does not decode (logged once)",
					"host", truncate(l.Host, 64), "err", truncate(err.Error(), 200))
			}
			continue
		}
		if f.Restore(s, l.Body, l.RoutingKey, l.LastSeen) == fleet.Accepted {
			restored++
		} else {
			skipped++
		}
	}
	return restored, skipped
}
