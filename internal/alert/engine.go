package alert

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
)

// Config is the rules' settings.
type Config struct {
	// For is how long a figure must stay over its critical level to fire,
	// and under its warning level to resolve (hysteresis).
	For time.Duration
	// Repeat reminds of an alert still firing this long after its last
	// notification; 0 never does.
	Repeat time.Duration
	// Thresholds are the warning and critical levels of the threshold
	// rules (cpu, memory, swap, disk, load per core).
	Thresholds map[string][2]float64
	// OfflineAfter is the fleet's offline time in the host's intervals,
	// and OfflineFloor its least (fleet.Config.Limits); the consumer's
	// blindness is excused for GraceFactor times it.
	OfflineAfter, GraceFactor float64
	OfflineFloor              time.Duration
	// Expire forgets the alerts of a host unseen this long (HOST_EXPIRE);
	// 0 never does.
	Expire time.Duration
	// GroupMin and GroupFraction: at least this many hosts, and this part
	// of the hosts live before, gone silent within one check make one
	// grouped notification.
	GroupMin      int
	GroupFraction float64
	// The forecast: a least-squares line over Window of a file system's use
	// fires when it reaches 100 % within Horizon; it needs MinPoints
	// samples spanning MinSpan first.
	ForecastWindow, ForecastHorizon, ForecastMinSpan time.Duration
	ForecastMinPoints                                int
	// HistorySize is how many transitions GET /api/alerts shows.
	HistorySize int
}

// DefaultConfig is what an empty consumer.env means.
func DefaultConfig() Config {
	return Config{For: 5 * time.Minute, OfflineAfter: 10, GraceFactor: 2, GroupMin: 5, GroupFraction: 0.5,
		ForecastWindow: 6 * time.Hour, ForecastHorizon: 24 * time.Hour, ForecastMinSpan: time.Hour, ForecastMinPoints: 12,
		HistorySize: 200, Thresholds: map[string][2]float64{}}
}

// Alert is one alert's state: firing, or on its way in (pending) or out
// (clearing).
type Alert struct {
	Key
	Firing   bool      `json:"firing"`
	Since    time.Time `json:"since,omitzero"` // firing since
	Value    float64   `json:"value"`
	Summary  string    `json:"summary"`
	Severity string    `json:"severity"`
	// Pending: over the critical level since, not yet for For; Clearing:
	// under the warning level since, not yet for For.
	Pending  time.Time `json:"pending_since,omitzero"`
	Clearing time.Time `json:"clearing_since,omitzero"`
	// Notified: its firing was sent (so its resolution will be);
	// LastSent is when, for reminders.
	Notified bool      `json:"notified"`
	LastSent time.Time `json:"last_sent,omitzero"`
	Silenced bool      `json:"silenced"` // when last checked
}

// Silence mutes the notifications of the alerts of a host, of a rule, or of
// a rule on a host, until it expires.
type Silence struct {
	ID      string    `json:"id"`
	Host    string    `json:"host,omitempty"`
	Rule    string    `json:"rule,omitempty"`
	Until   time.Time `json:"until"`
	Comment string    `json:"comment,omitempty"`
	Created time.Time `json:"created"`
}

func (s *Silence) matches(k Key) bool {
	return (s.Host == "" || s.Host == k.Host) && (s.Rule == "" || s.Rule == k.Rule)
}

// knownHost is what the engine remembers of a host across restarts: a host
// that died while the consumer was down is still missed.
type knownHost struct {
	Interval float64   `json:"interval"`
	LastSeen time.Time `json:"last_seen"`
	Goodbye  bool      `json:"goodbye,omitempty"`
	live     bool      // at the last check
}

// Engine evaluates the rules; safe for concurrent use.
type Engine struct {
	cfg Config

	mu       sync.Mutex
	alerts   map[Key]*Alert
	silences []Silence
	history  []Event // newest last
	hosts    map[string]*knownHost
	fits     map[string]map[string]*fit // host → mount point
	up       bool                       // the broker connection, at the last check
	upSince  time.Time                  // zero: not connected since start (blind)
	dirty    bool
	// hostsKept is when the hosts' last-seen times were last marked for
	// keeping.
	hostsKept time.Time
}

// NewEngine returns an engine with nothing firing.
func NewEngine(cfg Config) *Engine {
	return &Engine{cfg: cfg, alerts: map[Key]*Alert{}, hosts: map[string]*knownHost{}, fits: map[string]map[string]*fit{}}
}

// Result is what one check found.
type Result struct {
	// Transitions are every alert that started or stopped firing, silenced
	// or not (each is logged once).
	Transitions []Event
	// Notification is what to send, nil when nothing.
	Notification *Notification
}

// grace is how long after the consumer regains the broker a host silent
// since before is not called offline: its backlog, or its next snapshot,
// needs that long to come through.
func (e *Engine) grace(interval float64) time.Duration {
	if interval <= 0 {
		interval = fleet.MaxInterval
	}
	offline := max(e.cfg.OfflineAfter*interval, e.cfg.OfflineFloor.Seconds())
	return time.Duration(e.cfg.GraceFactor * offline * float64(time.Second))
}

// Check evaluates every rule at now over the fleet's entries; brokerUp is
// the consumer's own broker connection.
func (e *Engine) Check(now time.Time, entries []fleet.Entry, brokerUp bool) Result {
	return e.check(now, entries, brokerUp, time.Time{})
}

// check is Check with the time the broker connection last changed state
// (zero: unknown), so that an outage shorter than a check is not missed.
func (e *Engine) check(now time.Time, entries []fleet.Entry, brokerUp bool, changed time.Time) Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case brokerUp && !e.up && !changed.IsZero() && !changed.After(now):
		e.upSince = changed
	case brokerUp && !e.up:
		e.upSince = now
	case brokerUp && changed.After(e.upSince) && !changed.After(now):
		e.upSince = changed // down and up again between two checks
	}
	e.up = brokerUp
	if now.Sub(e.hostsKept) >= time.Minute {
		// The hosts' last-seen times change at every snapshot: they are
		// kept once a minute, not at every check.
		e.hostsKept, e.dirty = now, true
	}
	c := checker{e: e, now: now}
	liveBefore := 0
	for _, h := range e.hosts {
		if h.live {
			liveBefore++
		}
	}
	seen := make(map[string]bool, len(entries))
	for i := range entries {
		ent := &entries[i]
		seen[ent.Host] = true
		kh := e.hosts[ent.Host]
		if kh == nil {
			kh = &knownHost{}
			e.hosts[ent.Host] = kh
			e.dirty = true
		}
		if kh.Goodbye != ent.Goodbye {
			e.dirty = true
		}
		kh.Interval, kh.LastSeen, kh.Goodbye, kh.live = ent.Interval, ent.LastSeen, ent.Goodbye, ent.Status == fleet.Live
		c.host(ent, kh)
	}
	for name, kh := range e.hosts {
		if seen[name] {
			continue
		}
		kh.live = false
		if e.cfg.Expire > 0 && now.Sub(kh.LastSeen) > e.cfg.Expire {
			c.forget(name)
			delete(e.hosts, name)
			e.dirty = true
			continue
		}
		// Known from before a restart (or evicted from a full table):
		// silent all along, once the consumer could have heard it.
		if !kh.Goodbye && c.mayCallOffline(kh.LastSeen, kh.Interval) {
			c.fire(Key{Rule: HostOffline, Host: name}, kh.LastSeen, now.Sub(kh.LastSeen).Seconds(),
				fmt.Sprintf("%s sends nothing since %s", name, kh.LastSeen.UTC().Format(time.RFC3339)))
		}
	}
	return c.finish(liveBefore)
}

// checker is one check's work.
type checker struct {
	e            *Engine
	now          time.Time
	transitions  []Event
	sendResolved []Event // resolutions of alerts whose firing was sent
	forgetting   bool    // resolving the alerts of a host forgotten
	newOffline   int
}

func (c *checker) mayCallOffline(lastSeen time.Time, interval float64) bool {
	e := c.e
	if !e.up {
		return false
	}
	// Seen since the broker came back: its silence since is real.
	return !lastSeen.Before(e.upSince) || c.now.Sub(e.upSince) >= e.grace(interval)
}

func (c *checker) host(ent *fleet.Entry, kh *knownHost) {
	name := ent.Host
	off, stop := Key{Rule: HostOffline, Host: name}, Key{Rule: HostStopped, Host: name}
	switch {
	case ent.Status == fleet.Live:
		c.resolve(off, 0)
		c.resolve(stop, 0)
	case ent.Goodbye:
		c.resolve(off, 0) // it said goodbye after all: the outage ends, a planned stop starts
		c.fire(stop, ent.LastSeen, 0, fmt.Sprintf("%s stopped its publisher (planned shutdown) at %s", name, ent.LastSeen.UTC().Format(time.RFC3339)))
	case ent.Status == fleet.Offline && c.mayCallOffline(ent.LastSeen, ent.Interval):
		c.fire(off, ent.LastSeen, c.now.Sub(ent.LastSeen).Seconds(),
			fmt.Sprintf("%s sends nothing since %s", name, ent.LastSeen.UTC().Format(time.RFC3339)))
	}
	switch ent.Status {
	case fleet.Offline:
		// Its last figures are not its state: host_offline or
		// host_stopped says what is known, the rest neither fires nor
		// holds on a dead host's last values.
		c.dropFigures(name)
		return
	case fleet.Stale:
		return // late: nothing to hold or clear on old figures yet
	}
	f := &ent.Figures
	for _, rule := range ThresholdRules {
		th, ok := c.e.cfg.Thresholds[rule]
		if !ok {
			continue
		}
		v, what := math.NaN(), ""
		switch rule {
		case CPU:
			v, what = f.CPU, "CPU"
		case Memory:
			v, what = f.Mem, "memory"
		case Swap:
			v, what = f.Swap, "swap"
		case Disk:
			v, what = f.Disk, "disk"
		case Load:
			v, what = f.LoadPerCore, "load per core"
		}
		if rule == Disk && f.DiskMount != "" {
			what = "disk " + f.DiskMount
		}
		summary := func() string {
			unit := "%"
			if rule == Load {
				unit = ""
			}
			return fmt.Sprintf("%s %s at %.3g%s (critical %g%s)", name, what, v, unit, th[1], unit)
		}
		c.held(Key{Rule: rule, Host: name}, v, v >= th[1], v < th[0], summary, c.e.cfg.For)
	}
	c.forecast(ent)
}

// held runs the hysteresis of a condition: bad for For fires, good for
// For resolves; neither (NaN, between the levels) holds still.
func (c *checker) held(k Key, v float64, bad, good bool, summary func() string, fireAfter time.Duration) {
	e, now := c.e, c.now
	a := e.alerts[k]
	if math.IsNaN(v) {
		if a != nil && !a.Firing {
			delete(e.alerts, k)
		}
		return
	}
	if a == nil {
		if !bad {
			return
		}
		a = &Alert{Key: k, Pending: now, Severity: severity(k.Rule)}
		e.alerts[k] = a
	}
	a.Value = v
	if !a.Firing {
		if !bad {
			delete(e.alerts, k)
			return
		}
		if now.Sub(a.Pending) >= fireAfter {
			c.fire(k, a.Pending, v, summary())
		}
		return
	}
	a.Summary = summary()
	switch {
	case good && a.Clearing.IsZero():
		a.Clearing = now
		e.dirty = true
	case !good && !a.Clearing.IsZero():
		a.Clearing = time.Time{}
		e.dirty = true
	}
	if good && now.Sub(a.Clearing) >= e.cfg.For {
		c.resolve(k, v)
	}
}

func (c *checker) fire(k Key, since time.Time, v float64, summary string) {
	e := c.e
	a := e.alerts[k]
	if a != nil && a.Firing {
		a.Value = v
		return
	}
	if a == nil {
		a = &Alert{Key: k}
		e.alerts[k] = a
	}
	*a = Alert{Key: k, Firing: true, Since: since, Value: v, Summary: summary, Severity: severity(k.Rule)}
	e.dirty = true
	if k.Rule == HostOffline {
		c.newOffline++
	}
	ev := Event{Key: k, State: StateFiring, Severity: a.Severity, Since: since, Value: v, Summary: summary}
	c.transitions = append(c.transitions, ev)
}

func (c *checker) resolve(k Key, v float64) {
	e := c.e
	a := e.alerts[k]
	if a == nil || !a.Firing {
		return
	}
	delete(e.alerts, k)
	e.dirty = true
	ev := Event{Key: k, State: StateResolved, Severity: a.Severity, Since: a.Since, Ended: c.now, Value: v,
		Summary: strings.TrimSpace(a.Summary)}
	switch {
	case c.forgetting:
		ev.Summary = k.Host + " forgotten: unseen longer than HOST_EXPIRE"
	case k.Rule == HostOffline || k.Rule == HostStopped:
		ev.Summary = k.Host + " sends again"
	}
	c.transitions = append(c.transitions, ev)
	if a.Notified {
		c.sendResolved = append(c.sendResolved, ev)
	}
}

// dropFigures resolves (and forgets the pending) alerts on the figures of
// a host that went offline.
func (c *checker) dropFigures(host string) {
	for _, rule := range ThresholdRules {
		c.dropFigure(Key{Rule: rule, Host: host})
	}
	for m := range c.e.fits[host] {
		c.dropFigure(Key{Rule: DiskForecast, Host: host, Mount: m})
	}
}

func (c *checker) dropFigure(k Key) {
	a := c.e.alerts[k]
	switch {
	case a == nil:
	case a.Firing:
		a.Summary = k.Host + " went offline: " + a.Summary + " is no longer reported"
		c.resolve(k, 0)
	default:
		delete(c.e.alerts, k)
	}
}

// forget resolves every alert of a host the fleet forgot (HOST_EXPIRE).
func (c *checker) forget(host string) {
	c.forgetting = true
	defer func() { c.forgetting = false }()
	for k := range c.e.alerts {
		if k.Host == host {
			c.resolve(k, 0)
		}
	}
	delete(c.e.fits, host)
}

// finish decides what to send: firings not silenced, resolutions of what
// was sent, firings whose silence ended, reminders; and records history.
func (c *checker) finish(liveBefore int) Result {
	e, now := c.e, c.now
	kept := e.silences[:0]
	for _, s := range e.silences {
		if now.Before(s.Until) {
			kept = append(kept, s)
		} else {
			e.dirty = true
		}
	}
	e.silences = kept
	var send []Event
	for _, a := range e.alerts {
		if !a.Firing {
			continue
		}
		a.Silenced = e.silencedLocked(a.Key)
		switch {
		case a.Silenced:
		case !a.Notified:
			a.Notified, a.LastSent = true, now
			send = append(send, a.event())
			e.dirty = true
		case e.cfg.Repeat > 0 && now.Sub(a.LastSent) >= e.cfg.Repeat:
			a.LastSent = now
			ev := a.event()
			ev.Reminder = true
			send = append(send, ev)
			e.dirty = true
		}
	}
	send = append(send, c.sendResolved...)
	e.history = append(e.history, c.transitions...)
	if over := len(e.history) - e.cfg.HistorySize; over > 0 {
		e.history = append(e.history[:0], e.history[over:]...)
	}
	res := Result{Transitions: c.transitions}
	if len(send) == 0 {
		return res
	}
	sortEvents(send)
	n := &Notification{Time: now, Alerts: send, ID: notificationID(send, now)}
	if c.newOffline >= e.cfg.GroupMin && float64(c.newOffline) >= e.cfg.GroupFraction*float64(liveBefore) {
		n.Group = fmt.Sprintf("%d hosts went silent at once (of %d live): more likely a network or broker failure than %d outages",
			c.newOffline, liveBefore, c.newOffline)
	}
	res.Notification = n
	return res
}

func (a *Alert) event() Event {
	return Event{Key: a.Key, State: StateFiring, Severity: a.Severity, Since: a.Since, Value: a.Value, Summary: a.Summary}
}

func sortEvents(evs []Event) {
	sort.Slice(evs, func(i, j int) bool {
		if evs[i].State != evs[j].State {
			return evs[i].State == StateFiring
		}
		return evs[i].Key.String() < evs[j].Key.String()
	})
}

func (e *Engine) silencedLocked(k Key) bool {
	for i := range e.silences {
		if e.silences[i].matches(k) {
			return true
		}
	}
	return false
}

// AddSilence adds s (its ID and Created are set here) and returns it.
func (e *Engine) AddSilence(s Silence, now time.Time) (Silence, error) {
	if s.Host == "" && s.Rule == "" {
		return Silence{}, fmt.Errorf("a silence needs a host, a rule or both")
	}
	if s.Rule != "" && !validRule(s.Rule) {
		return Silence{}, fmt.Errorf("unknown rule %q (one of %s)", s.Rule, strings.Join(Rules, ", "))
	}
	if len(s.Host) > 255 || len(s.Comment) > 1000 {
		return Silence{}, fmt.Errorf("host name or comment too long")
	}
	if !s.Until.After(now) {
		return Silence{}, fmt.Errorf("the silence would end before it starts (until %s)", s.Until.UTC().Format(time.RFC3339))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.silences) >= MaxSilences {
		return Silence{}, fmt.Errorf("too many silences (%d): delete some first", MaxSilences)
	}
	s.ID, s.Created = newID(), now
	e.silences = append(e.silences, s)
	for _, a := range e.alerts {
		if a.Firing && s.matches(a.Key) {
			a.Silenced = true
		}
	}
	e.dirty = true
	return s, nil
}

// MaxSilences bounds the silences kept (a script gone wrong cannot grow the
// state file without end).
const MaxSilences = 1000

// DeleteSilence removes a silence; false when there is none with that id.
func (e *Engine) DeleteSilence(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.silences {
		if e.silences[i].ID == id {
			e.silences = append(e.silences[:i], e.silences[i+1:]...)
			e.dirty = true
			return true
		}
	}
	return false
}

func validRule(r string) bool {
	for _, x := range Rules {
		if x == r {
			return true
		}
	}
	return false
}

// View is what GET /api/alerts shows.
type View struct {
	Firing   []Alert   `json:"firing"`   // not silenced
	Silenced []Alert   `json:"silenced"` // firing, but silenced
	Silences []Silence `json:"silences"`
	Recent   []Event   `json:"recent"` // transitions, newest first
	Blind    bool      `json:"blind"`  // the consumer's broker connection is down: host_offline is held back
}

// View returns the alerts at now.
func (e *Engine) View(now time.Time) View {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := View{Firing: []Alert{}, Silenced: []Alert{}, Silences: []Silence{}, Recent: make([]Event, 0, len(e.history))}
	for _, a := range e.alerts {
		if !a.Firing {
			continue
		}
		cp := *a
		cp.Silenced = e.silencedLocked(a.Key)
		if cp.Silenced {
			v.Silenced = append(v.Silenced, cp)
		} else {
			v.Firing = append(v.Firing, cp)
		}
	}
	byKey := func(as []Alert) {
		sort.Slice(as, func(i, j int) bool { return as[i].Key.String() < as[j].Key.String() })
	}
	byKey(v.Firing)
	byKey(v.Silenced)
	for _, s := range e.silences {
		if now.Before(s.Until) {
			v.Silences = append(v.Silences, s)
		}
	}
	for i := len(e.history) - 1; i >= 0; i-- {
		v.Recent = append(v.Recent, e.history[i])
	}
	v.Blind = !e.up
	return v
}

// FiringByRule counts the firing alerts per rule (silenced ones too: they
// are firing), every rule present.
func (e *Engine) FiringByRule() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(Rules))
	for _, r := range Rules {
		out[r] = 0
	}
	for _, a := range e.alerts {
		if a.Firing {
			out[a.Rule]++
		}
	}
	return out
}
