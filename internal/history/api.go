// Package history keeps the fleet's figures and events on disk, in the
// consumer's state directory, across restarts: every sample for a short
// while, then minute and hour aggregates (min, mean, max) for long ones.
//
// This file is the package's contract with the rest of the consumer (the
// ingest path writes Samples and Events, the web layer answers queries with
// Series and Events); the store behind it lives in the other files.
package history

import (
	"context"
	"time"
)

// Tiers, from the finest.
const (
	TierRaw    = "raw" // every sample
	TierMinute = "1m"  // 1-minute aggregates
	TierHour   = "1h"  // 1-hour aggregates
)

// Retention is how long each tier is kept (consumer.env: HISTORY_RAW,
// HISTORY_MINUTE, HISTORY_HOUR; defaults 1h, 7d, 1y).
type Retention struct {
	Raw, Minute, Hour time.Duration
}

// Sample is one snapshot's figures, filed at T, the time the host sampled
// them (the consumer's receipt time for a message without its own time, or
// one whose time is not believable). A figure the snapshot did not have is
// NaN.
type Sample struct {
	T                                    time.Time
	CPU, Mem, Swap, Load1, Load5, Load15 float32   // percent; load averages
	Rx, Tx, Rd, Wr                       float32   // bytes per second
	Cores                                []float32 // percent busy per core (kept in the raw tier only)
	FS                                   []FSUse
}

// FSUse is one file system's use in percent.
type FSUse struct {
	Mount string
	Pct   float32
}

// Event kinds.
const (
	EventOnline  = "online"  // first snapshot, or the first after being offline or stale
	EventStale   = "stale"   // late by StaleAfter intervals
	EventOffline = "offline" // late by OfflineAfter intervals, without a goodbye
	EventGoodbye = "goodbye" // the publisher said it is stopping
	EventRestart = "restart" // a new publisher instance id (the agent or the host restarted)
)

// Event is one change of a host's state, kept with the history.
type Event struct {
	T      time.Time `json:"t"`
	Host   string    `json:"host"`
	Kind   string    `json:"kind"`
	Detail string    `json:"detail,omitempty"`
}

// Series answers a query for one host: GET /api/hosts/{host}/history. Its
// JSON is columnar, as the dashboard's charts take it: T holds the points'
// times and every series holds one value per time, null where there is
// none. A period without data carries one point of nulls, so that a chart
// draws a gap there and never a line across it.
type Series struct {
	Host        string    `json:"host"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Tier        string    `json:"tier"`         // raw, 1m or 1h: the finest that covers the range within MaxPoints
	StepSeconds float64   `json:"step_seconds"` // 0 for raw samples; else each point aggregates this much
	T           []int64   `json:"t"`            // unix milliseconds: a sample's time, or an aggregate's start
	// Figures by name: cpu, mem, swap, load1, load5, load15, rx, tx, rd, wr,
	// and "fs:" + mount point for each file system.
	Figures map[string]*Band `json:"figures"`
	// Cores holds each core's percent busy, in the raw tier only.
	Cores []*Band `json:"cores,omitempty"`
}

// Band is one figure's values over a series: Mean always (the sample
// itself in the raw tier), Min and Max for aggregates. NaN is written as
// null.
type Band struct {
	Mean Values `json:"mean"`
	Min  Values `json:"min,omitempty"`
	Max  Values `json:"max,omitempty"`
}

// Values are a figure's values, NaN written as null.
type Values []float32

// MaxPoints is about the most points a query answers per series.
const MaxPoints = 1000

// Reader is what the web layer needs of the store.
type Reader interface {
	// Query answers host's figures from from to to, at step at least
	// (0: the finest tier that covers the range in at most MaxPoints).
	Query(ctx context.Context, host string, from, to time.Time, step time.Duration) (*Series, error)
	// Events lists events from from to to, newest first, at most limit;
	// host "" lists the whole fleet's.
	Events(ctx context.Context, host string, from, to time.Time, limit int) ([]Event, error)
}
