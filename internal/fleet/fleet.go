// Package fleet owns the consumer's picture of the fleet: the latest snapshot
// and a bounded history per host, duplicate detection, host states, and the
// subscriptions through which every accepted update reaches dashboards.
package fleet

import (
	"bytes"
	"encoding/json"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// Host states.
const (
	Live    = "live"
	Stale   = "stale"
	Offline = "offline"
)

// Config bounds the fleet.
type Config struct {
	HistorySize int // points kept per host
	MaxHosts    int // new hosts beyond this are refused (a hostile publisher cannot exhaust memory)
	// StaleAfter and OfflineAfter are in multiples of a host's own interval.
	StaleAfter, OfflineAfter float64
}

// Fleet is safe for concurrent use.
type Fleet struct {
	cfg   Config
	mu    sync.Mutex
	hosts map[string]*host
	subs  map[*Sub]struct{}

	accepted, duplicates, refused atomic.Uint64
}

type host struct {
	name     string
	legacy   bool
	hostID   string
	latest   *snapshot.Snapshot
	snapJSON []byte // the latest snapshot as published, compacted
	lastSeen time.Time
	interval float64
	goodbye  bool
	hist     []Point // ring
	next     int
	full     bool
	mounts   []string           // the latest point's, shared with the next while unchanged
	seen     map[string]*window // per publisher instance
	// entry is the latest update as sent to subscribers (a HostEntry with
	// "point"); never modified once stored, so it can be read without the
	// lock. entry[statusAt:statusEnd] is the status as it was then.
	entry               []byte
	statusAt, statusEnd int
	seenLRU             []string
}

// New returns an empty fleet.
func New(cfg Config) *Fleet {
	return &Fleet{cfg: cfg, hosts: map[string]*host{}, subs: map[*Sub]struct{}{}}
}

// Outcome is what Apply did with a snapshot.
type Outcome int

// Outcomes.
const (
	Accepted Outcome = iota
	Duplicate
	Refused // too many hosts
)

// HostKey is the name a snapshot is filed under: its host name, else (a
// prototype message) the routing key it came with, else "prototype".
func HostKey(s *snapshot.Snapshot, routingKey string) (name string, legacy bool) {
	if s.Host != "" {
		return s.Host, false
	}
	if routingKey != "" && len(routingKey) <= snapshot.MaxHostLen {
		return routingKey, true
	}
	return "prototype", true
}

// Apply files a snapshot received at now: s is the validated decoding of
// body, the message as published. The body travels on (compacted) rather
// than s re-encoded, so that the dashboard shows exactly what was sent,
// keys a newer publisher adds included; Decode bounded its size.
func (f *Fleet) Apply(s *snapshot.Snapshot, body []byte, routingKey string, now time.Time) Outcome {
	name, legacy := HostKey(s, routingKey)
	snapJSON := compact(body)
	if snapJSON == nil {
		return Refused // cannot happen: body was decoded already
	}
	p := pointFrom(s, now)

	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hosts[name]
	if h == nil {
		if f.cfg.MaxHosts > 0 && len(f.hosts) >= f.cfg.MaxHosts {
			f.refused.Add(1)
			return Refused
		}
		h = &host{name: name, hist: make([]Point, f.cfg.HistorySize), seen: map[string]*window{}}
		f.hosts[name] = h
	}
	if s.InstanceID != "" && s.Seq > 0 && h.duplicate(s.InstanceID, s.Seq) {
		f.duplicates.Add(1)
		return Duplicate
	}
	switch {
	case s.IntervalSeconds > 0:
		h.interval = s.IntervalSeconds
	case !h.lastSeen.IsZero():
		// Prototype publishers do not say their interval: estimate it.
		h.interval = min(max(now.Sub(h.lastSeen).Seconds(), 1), 3600)
	case h.interval == 0:
		h.interval = 5
	}
	h.legacy, h.hostID, h.latest, h.snapJSON, h.lastSeen, h.goodbye = legacy, s.HostID, s, snapJSON, now, s.Goodbye
	p.Mounts = mounts(s, h.mounts)
	h.mounts = p.Mounts
	if len(h.hist) > 0 {
		h.hist[h.next] = p
		h.next = (h.next + 1) % len(h.hist)
		h.full = h.full || h.next == 0
	}
	f.accepted.Add(1)
	h.entry, h.statusAt, h.statusEnd = h.appendEntryAt(make([]byte, 0, len(snapJSON)+512), f.cfg, now, &p, -1)
	for sub := range f.subs {
		sub.send(h.name, h.entry)
	}
	return Accepted
}

// status is the host's state at now.
func (h *host) status(cfg Config, now time.Time) string {
	age := now.Sub(h.lastSeen).Seconds()
	switch {
	case h.goodbye || age > cfg.OfflineAfter*h.interval:
		return Offline
	case age > cfg.StaleAfter*h.interval:
		return Stale
	}
	return Live
}

// history returns up to n points, oldest first.
func (h *host) history(n int) []Point {
	size := h.next
	if h.full {
		size = len(h.hist)
	}
	n = min(n, size)
	out := make([]Point, 0, n)
	for i := size - n; i < size; i++ {
		idx := i
		if h.full {
			idx = (h.next + i) % len(h.hist)
		}
		out = append(out, h.hist[idx])
	}
	return out
}

// appendEntry writes the host as a protocol HostEntry: with point when given,
// else with up to histN points of history (none when histN < 0).
func (h *host) appendEntry(b []byte, cfg Config, now time.Time, point *Point, histN int) []byte {
	b, _, _ = h.appendEntryAt(b, cfg, now, point, histN)
	return b
}

// appendEntryAt is appendEntry, also returning where the status value sits.
func (h *host) appendEntryAt(b []byte, cfg Config, now time.Time, point *Point, histN int) (out []byte, statusAt, statusEnd int) {
	b = append(b, `{"host":`...)
	b = appendString(b, h.name)
	if h.hostID != "" {
		b = append(b, `,"host_id":`...)
		b = appendString(b, h.hostID)
	}
	b = append(b, `,"legacy":`...)
	b = appendBool(b, h.legacy)
	b = append(b, `,"last_seen":"`...)
	b = h.lastSeen.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","status":"`...)
	statusAt = len(b)
	b = append(b, h.status(cfg, now)...)
	statusEnd = len(b)
	b = append(b, `","interval_seconds":`...)
	b = appendFloat(b, float32(h.interval))
	b = append(b, `,"goodbye":`...)
	b = appendBool(b, h.goodbye)
	b = append(b, `,"snapshot":`...)
	b = append(b, h.snapJSON...)
	switch {
	case point != nil:
		b = append(b, `,"point":`...)
		b = point.AppendJSON(b)
	case histN >= 0:
		b = append(b, `,"history":[`...)
		for i, p := range h.history(histN) {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.AppendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}'), statusAt, statusEnd
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // escapes <, >, & too: safe inside any page
			return append(b, q...)
		}
	}
	// Plain ASCII (host names, mount points) needs no escaping: skip the
	// reflection of json.Marshal, which runs for every update.
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// compact returns a copy of the JSON body without insignificant whitespace,
// or nil if it is not valid JSON. Publishers send compact JSON: a scan that
// finds no whitespace outside strings saves json.Compact's state machine.
func compact(body []byte) []byte {
	inString := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case ' ', '\t', '\n', '\r':
			var buf bytes.Buffer
			buf.Grow(len(body))
			if json.Compact(&buf, body) != nil {
				return nil
			}
			return buf.Bytes()
		}
	}
	return bytes.Clone(body)
}

// names returns the host names sorted, for stable output.
func (f *Fleet) names() []string {
	names := make([]string, 0, len(f.hosts))
	for n := range f.hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// AppendHosts writes a JSON array of every host, each with up to histN points
// of history (none when histN < 0).
func (f *Fleet) AppendHosts(b []byte, now time.Time, histN int) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.appendHostsLocked(b, now, histN)
}

func (f *Fleet) appendHostsLocked(b []byte, now time.Time, histN int) []byte {
	b = append(b, '[')
	for i, n := range f.names() {
		if i > 0 {
			b = append(b, ',')
		}
		b = f.hosts[n].appendEntry(b, f.cfg, now, nil, histN)
	}
	return append(b, ']')
}

// AppendHost writes one host with its whole history; ok is false if unknown.
func (f *Fleet) AppendHost(b []byte, name string, now time.Time) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hosts[name]
	if h == nil {
		return b, false
	}
	return h.appendEntry(b, f.cfg, now, nil, len(h.hist)), true
}

// Counts are the fleet's totals.
type Counts struct {
	Hosts      int    `json:"hosts"`
	Live       int    `json:"live"`
	Stale      int    `json:"stale"`
	Offline    int    `json:"offline"`
	Accepted   uint64 `json:"accepted_total"`
	Duplicates uint64 `json:"duplicates_total"`
	Refused    uint64 `json:"refused_hosts_total"`
	Clients    int    `json:"clients"`
}

// Counts returns host states at now and the totals.
func (f *Fleet) Counts(now time.Time) Counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := Counts{Hosts: len(f.hosts), Accepted: f.accepted.Load(), Duplicates: f.duplicates.Load(),
		Refused: f.refused.Load(), Clients: len(f.subs)}
	for _, h := range f.hosts {
		switch h.status(f.cfg, now) {
		case Live:
			c.Live++
		case Stale:
			c.Stale++
		default:
			c.Offline++
		}
	}
	return c
}

// HostView is one host's latest state, for exporters.
type HostView struct {
	Name     string
	Status   string
	LastSeen time.Time
	Snapshot *snapshot.Snapshot // never modified after Apply: safe to read
}

// Each calls fn for every host, sorted by name, outside the fleet's lock.
func (f *Fleet) Each(now time.Time, fn func(HostView)) {
	f.mu.Lock()
	views := make([]HostView, 0, len(f.hosts))
	for _, n := range f.names() {
		h := f.hosts[n]
		views = append(views, HostView{Name: n, Status: h.status(f.cfg, now), LastSeen: h.lastSeen, Snapshot: h.latest})
	}
	f.mu.Unlock()
	for _, v := range views {
		fn(v)
	}
}
