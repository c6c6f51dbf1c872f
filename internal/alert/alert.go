// Package alert owns the consumer's alerting: the built-in rules evaluated
// over the fleet (host_offline, host_stopped, thresholds held for a while,
// disk_full_forecast), silences, the "never cry wolf" guards (the consumer's
// own blindness, many hosts silent at once), and the notifications each
// transition produces, kept with the rest of its state in one file so that a
// restart neither forgets a firing alert nor sends one twice. Delivering the
// notifications is the Outbox's job (outbox.go); the channels are in
// internal/notify.
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Rules.
const (
	HostOffline   = "host_offline"
	HostStopped   = "host_stopped"
	CPU           = "cpu"
	Memory        = "memory"
	Swap          = "swap"
	Disk          = "disk"
	Load          = "load"
	DiskForecast  = "disk_full_forecast"
	TestRule      = "test" // -test-alert
	StateFiring   = "firing"
	StateResolved = "resolved"
)

// Rules lists every rule, for validation of silences and for metrics.
var Rules = []string{HostOffline, HostStopped, CPU, Memory, Swap, Disk, Load, DiskForecast}

// ThresholdRules are the rules on a figure with warning and critical levels.
var ThresholdRules = []string{CPU, Memory, Swap, Disk, Load}

func severity(rule string) string {
	switch rule {
	case HostStopped, TestRule:
		return "info"
	case DiskForecast:
		return "warning"
	}
	return "critical"
}

// Key names one alert: a rule on a host (and a file system, for the
// forecast).
type Key struct {
	Rule  string `json:"rule"`
	Host  string `json:"host"`
	Mount string `json:"mount,omitempty"`
}

func (k Key) String() string {
	if k.Mount != "" {
		return k.Rule + "/" + k.Host + "/" + k.Mount
	}
	return k.Rule + "/" + k.Host
}

// Event is one transition (or reminder) of one alert, as notified.
type Event struct {
	Key
	State    string    `json:"state"` // firing | resolved
	Severity string    `json:"severity"`
	Since    time.Time `json:"since"`          // when the episode started firing
	Ended    time.Time `json:"ended,omitzero"` // when it resolved
	Value    float64   `json:"value"`          // the figure (percent, load per core, hours until full, seconds silent)
	Summary  string    `json:"summary"`        // one line for people
	Reminder bool      `json:"reminder,omitempty"`
}

// Notification is what one check tells the channels: its transitions
// together, and, when many hosts went silent at once, a line that says so.
type Notification struct {
	ID     string    `json:"id"` // the same for the same transitions: receivers may deduplicate on it
	Time   time.Time `json:"time"`
	Group  string    `json:"group,omitempty"`
	Alerts []Event   `json:"alerts"`
}

// Title is a one-line subject for the notification.
func (n *Notification) Title() string {
	if n.Group != "" {
		return "sysmon: " + n.Group
	}
	if len(n.Alerts) == 1 {
		a := n.Alerts[0]
		return fmt.Sprintf("sysmon: [%s] %s", a.State, a.Summary)
	}
	firing := 0
	for _, a := range n.Alerts {
		if a.State == StateFiring {
			firing++
		}
	}
	return fmt.Sprintf("sysmon: %d alerts firing, %d resolved", firing, len(n.Alerts)-firing)
}

// Text is the notification as plain text (email, logs).
func (n *Notification) Text() string {
	s := n.Title() + "\n\n"
	for _, a := range n.Alerts {
		line := fmt.Sprintf("[%s] %s (rule %s, host %s, since %s)", a.State, a.Summary, a.Rule, a.Host, a.Since.UTC().Format(time.RFC3339))
		if a.Reminder {
			line += " (reminder)"
		}
		s += line + "\n"
	}
	return s
}

// notificationID is derived from the transitions, so that the same
// transitions found again (after a crash between detecting and recording)
// carry the same id.
func notificationID(events []Event, now time.Time) string {
	h := sha256.New()
	for _, e := range events {
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%v\n", e.Key.String(), e.State, e.Since.UnixNano(), e.Ended.UnixNano(), e.Reminder)
		if e.Reminder {
			fmt.Fprintf(h, "%d\n", now.UnixNano()) // each reminder is new
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
