// Package snapshot owns the message format: what a publisher sends and what a
// consumer accepts. The first eight keys are the prototype's, with the
// prototype's types, so that old consumers still read sysmon messages and
// sysmon reads old publishers' messages; everything else is a new key.
package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Schema is the version of the sysmon keys; the AMQP message type names it.
const Schema = 1

// MessageType is the AMQP "type" property of sysmon snapshots.
const MessageType = "sysmon.snapshot.v1"

// TimestampLayout is the prototype's local time without a zone (Python's
// datetime.isoformat() with microseconds).
const TimestampLayout = "2006-01-02T15:04:05.000000"

// Snapshot is one sample of one host.
type Snapshot struct {
	// The prototype's keys.
	Timestamp       string  `json:"timestamp"`
	CPUPercent      float64 `json:"cpu_percent"`
	Memory          Memory  `json:"memory"`
	Disk            Disk    `json:"disk"`
	Platform        string  `json:"platform"`
	PlatformRelease string  `json:"platform_release"`
	Processor       string  `json:"processor"`

	// sysmon's keys; absent from prototype messages.
	Schema          int          `json:"schema,omitempty"`
	Host            string       `json:"host,omitempty"`
	HostID          string       `json:"host_id,omitempty"`
	InstanceID      string       `json:"instance_id,omitempty"`
	Seq             uint64       `json:"seq,omitempty"`
	Time            *time.Time   `json:"time,omitempty"`
	IntervalSeconds float64      `json:"interval_seconds,omitempty"`
	AgentVersion    string       `json:"agent_version,omitempty"`
	UptimeSeconds   uint64       `json:"uptime_seconds,omitempty"`
	CPUCount        int          `json:"cpu_count,omitempty"`
	CPUPerCore      []float64    `json:"cpu_per_core,omitempty"`
	Load            *Load        `json:"load,omitempty"`
	Swap            *Swap        `json:"swap,omitempty"`
	Filesystems     []Filesystem `json:"filesystems,omitempty"`
	DiskIO          *DiskIO      `json:"disk_io,omitempty"`
	Network         *Network     `json:"network,omitempty"`
	// Missing names the sources that failed or timed out for this sample;
	// their keys are absent or zero.
	Missing []string `json:"missing,omitempty"`
	// Goodbye marks the last message of a publisher that is shutting down.
	Goodbye bool `json:"goodbye,omitempty"`
}

// Memory is the prototype's memory object, plus used bytes.
type Memory struct {
	Total     uint64  `json:"total"`
	Available uint64  `json:"available"`
	Percent   float64 `json:"percent"`
	Used      uint64  `json:"used,omitempty"`
}

// Disk is the prototype's disk object: the root file system.
type Disk struct {
	Total uint64 `json:"total"`
	Used  uint64 `json:"used"`
	Free  uint64 `json:"free"`
}

// Load is the load average.
type Load struct {
	Load1  float64 `json:"load1"`
	Load5  float64 `json:"load5"`
	Load15 float64 `json:"load15"`
}

// Swap is swap space use.
type Swap struct {
	Total   uint64  `json:"total"`
	Used    uint64  `json:"used"`
	Free    uint64  `json:"free"`
	Percent float64 `json:"percent"`
}

// Filesystem is one mounted file system.
type Filesystem struct {
	Mountpoint string  `json:"mountpoint"`
	Device     string  `json:"device"`
	Fstype     string  `json:"fstype"`
	Total      uint64  `json:"total"`
	Used       uint64  `json:"used"`
	Free       uint64  `json:"free"`
	Percent    float64 `json:"percent"`
}

// DiskIO is the whole host's block device throughput.
type DiskIO struct {
	ReadBytesPerSec  float64 `json:"read_bytes_per_sec"`
	WriteBytesPerSec float64 `json:"write_bytes_per_sec"`
	ReadOpsPerSec    float64 `json:"read_ops_per_sec"`
	WriteOpsPerSec   float64 `json:"write_ops_per_sec"`
}

// Network is the host's traffic, loopback excluded.
type Network struct {
	RxBytesPerSec float64     `json:"rx_bytes_per_sec"`
	TxBytesPerSec float64     `json:"tx_bytes_per_sec"`
	Interfaces    []Interface `json:"interfaces,omitempty"`
}

// Interface is one network interface's traffic.
type Interface struct {
	Name          string  `json:"name"`
	RxBytesPerSec float64 `json:"rx_bytes_per_sec"`
	TxBytesPerSec float64 `json:"tx_bytes_per_sec"`
}

// Encode returns the message body: encoding/json's output for the struct
// above, so that a field added to Snapshot is on the wire at once
// (testdata/golden.json pins the result).
func Encode(s *Snapshot) ([]byte, error) { return json.Marshal(s) }

// Limits bound what Decode accepts; anything beyond them is hostile or broken.
const (
	MaxStringLen   = 1024
	MaxHostLen     = 253
	MaxCores       = 4096
	MaxFilesystems = 1024
	MaxInterfaces  = 1024
	MaxMissing     = 32
)

// ErrTooLarge is returned for a body over the size limit.
var ErrTooLarge = errors.New("message too large")

// InvalidError says why a message was rejected.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "invalid snapshot: " + e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// Decode parses and validates a message of at most maxBytes. It accepts
// prototype messages (the first eight keys only) and sysmon messages, and
// rejects wrong types, missing prototype keys and out-of-range values.
func Decode(body []byte, maxBytes int) (*Snapshot, error) {
	if len(body) > maxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(body), maxBytes)
	}
	// NaN cannot be written in JSON, so a field still NaN after decoding was absent.
	s := &Snapshot{CPUPercent: math.NaN(), Memory: Memory{Percent: math.NaN()}}
	if !decodeFast(body, s) {
		*s = Snapshot{CPUPercent: math.NaN(), Memory: Memory{Percent: math.NaN()}}
		if err := json.Unmarshal(body, s); err != nil {
			return nil, invalid("%v", err)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Validate checks the keys every message must have and the bounds of the rest.
func (s *Snapshot) Validate() error {
	switch {
	case s.Timestamp == "":
		return invalid("missing timestamp")
	case math.IsNaN(s.CPUPercent):
		return invalid("missing cpu_percent")
	case math.IsNaN(s.Memory.Percent) || (s.Memory.Total == 0 && !s.declaresMissing("memory")):
		// A publisher whose memory source failed says so in "missing";
		// anything else without memory is not a snapshot.
		return invalid("missing memory")
	}
	if err := percent("cpu_percent", s.CPUPercent); err != nil {
		return err
	}
	if err := percent("memory.percent", s.Memory.Percent); err != nil {
		return err
	}
	// Arrays, not maps: Validate runs for every message the consumer takes.
	for _, f := range [...]struct{ name, v string }{{"timestamp", s.Timestamp}, {"platform", s.Platform},
		{"platform_release", s.PlatformRelease}, {"processor", s.Processor}, {"host_id", s.HostID},
		{"instance_id", s.InstanceID}, {"agent_version", s.AgentVersion}} {
		if err := text(f.name, f.v, MaxStringLen); err != nil {
			return err
		}
	}
	if err := text("host", s.Host, MaxHostLen); err != nil {
		return err
	}
	if s.IntervalSeconds < 0 || s.IntervalSeconds > 86400 {
		return invalid("interval_seconds out of range: %g", s.IntervalSeconds)
	}
	if len(s.CPUPerCore) > MaxCores {
		return invalid("cpu_per_core has %d entries, limit %d", len(s.CPUPerCore), MaxCores)
	}
	for _, c := range s.CPUPerCore {
		if err := percent("cpu_per_core", c); err != nil {
			return err
		}
	}
	if s.CPUCount < 0 || s.CPUCount > MaxCores {
		return invalid("cpu_count out of range: %d", s.CPUCount)
	}
	if len(s.Filesystems) > MaxFilesystems {
		return invalid("filesystems has %d entries, limit %d", len(s.Filesystems), MaxFilesystems)
	}
	for _, f := range s.Filesystems {
		for _, t := range [...]struct{ name, v string }{{"filesystems.mountpoint", f.Mountpoint},
			{"filesystems.device", f.Device}, {"filesystems.fstype", f.Fstype}} {
			if err := text(t.name, t.v, MaxStringLen); err != nil {
				return err
			}
		}
		if err := percent("filesystems.percent", f.Percent); err != nil {
			return err
		}
	}
	if s.Network != nil {
		if len(s.Network.Interfaces) > MaxInterfaces {
			return invalid("network.interfaces has %d entries, limit %d", len(s.Network.Interfaces), MaxInterfaces)
		}
		for _, i := range s.Network.Interfaces {
			if err := text("network.interfaces.name", i.Name, MaxStringLen); err != nil {
				return err
			}
		}
	}
	if len(s.Missing) > MaxMissing {
		return invalid("missing has %d entries, limit %d", len(s.Missing), MaxMissing)
	}
	if s.Swap != nil {
		if err := percent("swap.percent", s.Swap.Percent); err != nil {
			return err
		}
	}
	return nil
}

func percent(name string, v float64) error {
	// A little over 100 happens with rounding and per-core accounting.
	if v < 0 || v > 100.5 {
		return invalid("%s out of range 0–100: %g", name, v)
	}
	return nil
}

func text(name, v string, limit int) error {
	if len(v) > limit {
		return invalid("%s is %d bytes long, limit %d", name, len(v), limit)
	}
	ascii := true
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			ascii = false // let the slow loop below report it in order
			break
		} else if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return nil
	}
	if !utf8.ValidString(v) {
		return invalid("%s is not valid UTF-8", name)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return invalid("%s contains control characters", name)
		}
	}
	return nil
}

// declaresMissing tells whether the snapshot lists source as missing.
func (s *Snapshot) declaresMissing(source string) bool {
	for _, m := range s.Missing {
		if m == source {
			return true
		}
	}
	return false
}

// MessageID is the AMQP message id: stable across re-sends of the same
// snapshot, so that a receiver can recognise duplicates.
func (s *Snapshot) MessageID() string { return fmt.Sprintf("%s-%d", s.InstanceID, s.Seq) }
