package hub

import (
	"encoding/json"
	"time"
)

// The WebSocket protocol (GET /ws) and the JSON API's host entries, as Go
// types. A client sends only WatchMessage; anything else is ignored. The hub
// writes these objects with its own encoders (encode.go: they run for every
// update of every host), and a test holds the encoders to these types.
//
// A dashboard receives one StateFrame (followed by StatePartFrames while
// its More says so), then at most one UpdateFrame per tick (WS_TICK) with
// the newest entry of each host that changed since its last frame: nothing
// is missed and nothing sent twice between the two while it keeps up. One that falls behind gets each host's newest entry
// only (history points in between are skipped), and one that falls too far
// behind is closed with 1008 (policy violation) and reconnects to a new
// StateFrame.

// MaxPoints bounds HostEntry.Points: a host that sends faster than that
// per tick has its oldest points of the tick skipped.
const MaxPoints = 64

// StatePart is the most hosts a state frame carries. The state of a big
// fleet comes in parts, so that a new dashboard's first frame is bounded
// (about 800 KB) whatever the fleet, and the page can parse one part while
// the next is on its way: 10,000 hosts are a StateFrame and nine
// StatePartFrames, 100,000 hosts a hundred frames instead of one of 76 MB.
const StatePart = 1000

// StateFrame is the first frame: the first part of every host the consumer
// knows (Total of them), with its figures; the others follow in
// StatePartFrames before any UpdateFrame. Its entries, like the updates',
// are lean, so that it grows with the fleet by a few hundred bytes a host:
// they leave out Snapshot, Figures.FS, Figures.Net, Figures.Temps and Point,
// which only the host view shows (it watches its host: WatchMessage; its
// history is GET /api/hosts?host=NAME). The hosts come by name (byte
// order), so that the first part is the first screen of a dashboard sorted
// by name and the later parts do not reshuffle it. A host is in one part only; hosts
// the state leaves out (the dashboard knew them from an earlier
// connection) are gone once the last part (More false) is in.
type StateFrame struct {
	Type       string          `json:"type"` // "state"
	ServerTime time.Time       `json:"server_time"`
	Config     json.RawMessage `json:"config"` // thresholds, stale/offline intervals, version: see internal/web
	Total      int             `json:"total"`  // hosts in the whole state, this part and those to come
	Hosts      []HostEntry     `json:"hosts"`  // at most StatePart
	More       bool            `json:"more,omitempty"`
}

// StatePartFrame is the next part of the state (StateFrame).
type StatePartFrame struct {
	Type  string      `json:"type"` // "state_part"
	Hosts []HostEntry `json:"hosts"`
	More  bool        `json:"more,omitempty"` // another part follows
}

// UpdateFrame carries the hosts that changed since the last frame, in the
// order they first changed. An entry is a lean HostEntry (as in StateFrame,
// without Point, and without the facts that did not change: FactKeys), or
// RemovedEntry; complete entries, with Point (and Points
// when it merged several updates of its host), with GET /ws?complete=1. A
// host appears more than once only in a frame that catches up with several
// ticks. The bytes of a frame thus grow with the hosts that changed, not
// with the rate of their snapshots.
type UpdateFrame struct {
	Type  string            `json:"type"` // "update"
	Hosts []json.RawMessage `json:"hosts"`
	// Watched is the complete entry of the host the client watches
	// (WatchMessage): in the first frame after the watch message (without
	// Point: the host's history is GET /api/hosts?host=NAME), and in every
	// frame in which that host changed, with its new Point and Points (the
	// host view's live charts). A frame may carry it alone.
	Watched *HostEntry `json:"watched,omitempty"`
}

// FactKeys are a host's facts, what seldom changes: keys of HostEntry,
// then of its Figures. An UpdateFrame's lean entry leaves them all out
// when they are the same as in the host's previous entry, which the client
// got in the state or an earlier frame: it keeps them from there. An entry
// without "legacy" is such a one. A host's first entry after its state or
// its removal, an entry whose facts changed, and every entry of a client
// that fell behind (which may have missed the previous one) carry them;
// state frames, Watched and complete entries always do. At 10,000 hosts a
// second, the facts were about half of what a dashboard received.
var FactKeys = struct{ Entry, Figures []string }{
	Entry: []string{"host_id", "legacy", "interval_seconds"},
	Figures: []string{"mem_total", "swap_total", "cores", "disk_mount", "platform", "platform_release", "processor",
		"agent_version", "tags", "temp_sensor"},
}

// WatchMessage is what a client may send: the host whose complete entry
// (snapshot and figures' lists, for the host view) it wants in UpdateFrame's
// Watched, or null for none. At most 10 a second; frames over 4 KiB close
// the connection.
type WatchMessage struct {
	Type string  `json:"type"` // "watch"
	Host *string `json:"host"`
}

// RemovedEntry says the consumer forgot a host (offline longer than
// HOST_EXPIRE, or evicted to make room).
type RemovedEntry struct {
	Host    string `json:"host"`
	Removed bool   `json:"removed"` // always true
}

// HostEntry is one host: in GET /api/hosts without Point, in GET
// /api/hosts?host=NAME with History. In frames entries are lean (no
// Snapshot, Figures.FS, Figures.Net, Figures.Temps or Point) but for
// UpdateFrame.Watched and with GET /ws?complete=1 (with Point).
type HostEntry struct {
	Host            string    `json:"host"`
	HostID          string    `json:"host_id,omitempty"`
	Legacy          bool      `json:"legacy"` // a prototype message, filed under its routing key
	LastSeen        time.Time `json:"last_seen"`
	Status          string    `json:"status"` // live, stale or offline, when the entry was written
	IntervalSeconds float64   `json:"interval_seconds"`
	Goodbye         bool      `json:"goodbye"`
	// Figures are derived once at ingest: read them, not the snapshot.
	Figures Figures `json:"figures"`
	// Snapshot is the message as published, compacted, for the host
	// view's JSON panel.
	Snapshot json.RawMessage `json:"snapshot,omitzero"`
	Point    *Point          `json:"point,omitempty"`
	// Points are the history points of the updates this entry merged
	// (those of one tick), oldest first, before Point; at most MaxPoints.
	Points  []Point `json:"points,omitempty"`
	History []Point `json:"history,omitempty"` // oldest first
}

// Figures are a host's latest figures (fleet.Figures). A figure the
// snapshot did not have is null.
type Figures struct {
	CPU         *float64     `json:"cpu"` // percent
	Mem         *float64     `json:"mem"` // percent
	MemTotal    *float64     `json:"mem_total"`
	Swap        *float64     `json:"swap"` // null without swap (none, or a total of 0)
	SwapTotal   *float64     `json:"swap_total"`
	Load1       *float64     `json:"load1"`
	Load5       *float64     `json:"load5"`
	Load15      *float64     `json:"load15"`
	Cores       *int         `json:"cores"` // null when unknown
	LoadPerCore *float64     `json:"load_per_core"`
	Rx          *float64     `json:"rx"` // bytes per second
	Tx          *float64     `json:"tx"`
	Rd          *float64     `json:"rd"`
	Wr          *float64     `json:"wr"`
	RdOps       *float64     `json:"rd_ops"` // disk reads per second
	WrOps       *float64     `json:"wr_ops"`
	Uptime      *float64     `json:"uptime"` // seconds
	Seq         *uint64      `json:"seq"`
	Disk        *float64     `json:"disk"` // percent, the fullest file system
	DiskMount   string       `json:"disk_mount"`
	FS          []Filesystem `json:"fs,omitzero"`  // a prototype message's root ("disk") included; not in a StateFrame
	Net         []Interface  `json:"net,omitzero"` // not in a StateFrame
	// Temps are the host's sensors, each name once, in the order the host
	// sent them (sysmon's publisher: by name); not in a StateFrame.
	Temps []Temperature `json:"temps,omitzero"`
	// Missing names the sources the publisher could not read for this
	// snapshot (its figures are absent): the host is degraded.
	Missing []string `json:"missing"`
	// Tags are the host's HOST_TAGS, to group and filter by; absent
	// when it has none.
	Tags map[string]string `json:"tags,omitempty"`
	// Temp is the hottest sensor's reading in °C, TempSensor its name;
	// null and "" on a host without sensors.
	Temp       *float64 `json:"temp"`
	TempSensor string   `json:"temp_sensor"`
	// TempLevel is "crit" when a sensor is at or over its own critical
	// mark, "warn" at or over its high mark, else "ok".
	TempLevel string `json:"temp_level"`
	// Facts as the snapshot sent them.
	Platform        string `json:"platform"`
	PlatformRelease string `json:"platform_release"`
	Processor       string `json:"processor"`
	AgentVersion    string `json:"agent_version"`
	SampledAt       string `json:"sampled_at"` // RFC 3339, or the prototype's timestamp
}

// Interface is one network interface of Figures.
type Interface struct {
	Name string  `json:"name"`
	Rx   float64 `json:"rx"` // bytes per second
	Tx   float64 `json:"tx"`
}

// Temperature is one sensor of Figures, in °C; High and Critical are the
// sensor's own marks, absent when it gives none.
type Temperature struct {
	Sensor   string  `json:"sensor"`
	Celsius  float64 `json:"celsius"`
	High     float64 `json:"high,omitempty"`
	Critical float64 `json:"critical,omitempty"`
}

// Filesystem is one file system of Figures.
type Filesystem struct {
	Mountpoint string  `json:"mountpoint"`
	Device     string  `json:"device"`
	Fstype     string  `json:"fstype"`
	Total      float64 `json:"total"`
	Used       float64 `json:"used"`
	Free       float64 `json:"free"`
	Percent    float64 `json:"percent"`
}

// Point is one history sample, as the charts draw it; null is a value the
// snapshot did not have.
type Point struct {
	T      int64               `json:"t"` // unix milliseconds, consumer receipt time
	CPU    *float32            `json:"cpu"`
	Mem    *float32            `json:"mem"`
	Swap   *float32            `json:"swap"`
	Load1  *float32            `json:"load1"`
	Load5  *float32            `json:"load5"`
	Load15 *float32            `json:"load15"`
	Rx     *float32            `json:"rx"`
	Tx     *float32            `json:"tx"`
	Rd     *float32            `json:"rd"`
	Wr     *float32            `json:"wr"`
	Cores  []*float32          `json:"cores,omitempty"`
	FS     map[string]*float32 `json:"fs,omitempty"` // mount point → percent used
}
