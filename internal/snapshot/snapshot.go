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
	"unicode"
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
	Schema          int        `json:"schema,omitempty"`
	Host            string     `json:"host,omitempty"`
	HostID          string     `json:"host_id,omitempty"`
	InstanceID      string     `json:"instance_id,omitempty"`
	Seq             uint64     `json:"seq,omitempty"`
	Time            *time.Time `json:"time,omitempty"`
	IntervalSeconds float64    `json:"interval_seconds,omitempty"`
	AgentVersion    string     `json:"agent_version,omitempty"`
	UptimeSeconds   uint64     `json:"uptime_seconds,omitempty"`
	CPUCount        int        `json:"cpu_count,omitempty"`
	CPUPerCore      []float64  `json:"cpu_per_core,omitempty"`
	// CPUSeconds are the kernel's cumulative CPU times per core, for
	// Prometheus to rate() (node_cpu_seconds_total).
	CPUSeconds  *CPUSeconds  `json:"cpu_seconds_total,omitempty"`
	Load        *Load        `json:"load,omitempty"`
	Swap        *Swap        `json:"swap,omitempty"`
	Filesystems []Filesystem `json:"filesystems,omitempty"`
	DiskIO      *DiskIO      `json:"disk_io,omitempty"`
	Network     *Network     `json:"network,omitempty"`
	// Missing names the sources that failed or timed out for this sample;
	// their keys are absent or zero.
	Missing []string `json:"missing,omitempty"`
	// Tags are the host's labels from the publisher's HOST_TAGS
	// (env=prod,role=db), to group and filter hosts by; see CheckTag.
	Tags map[string]string `json:"tags,omitempty"`
	// Temperatures are the host's sensors, where it has any (absent, not
	// missing, on a host without).
	Temperatures []Temperature `json:"temperatures,omitempty"`
	// Goodbye marks the last message of a publisher that is shutting down.
	Goodbye bool `json:"goodbye,omitempty"`
}

// CPUSeconds are seconds spent in each mode since boot, one value per core
// in each list (the order of cpu_per_core), as /proc/stat counts them.
type CPUSeconds struct {
	User    []float64 `json:"user"`
	Nice    []float64 `json:"nice"`
	System  []float64 `json:"system"`
	Idle    []float64 `json:"idle"`
	Iowait  []float64 `json:"iowait"`
	Irq     []float64 `json:"irq"`
	Softirq []float64 `json:"softirq"`
	Steal   []float64 `json:"steal"`
}

// Modes lists the modes with their values, in node_exporter's names.
func (c *CPUSeconds) Modes() [8]struct {
	Name   string
	Values []float64
} {
	return [8]struct {
		Name   string
		Values []float64
	}{{"user", c.User}, {"nice", c.Nice}, {"system", c.System}, {"idle", c.Idle},
		{"iowait", c.Iowait}, {"irq", c.Irq}, {"softirq", c.Softirq}, {"steal", c.Steal}}
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
	// Disks are the whole disks' cumulative counters, for Prometheus to
	// rate() (node_disk_*_total).
	Disks []DiskCounters `json:"disks,omitempty"`
}

// DiskCounters are one disk's counters since boot.
type DiskCounters struct {
	Name       string `json:"name"`
	ReadBytes  uint64 `json:"read_bytes_total"`
	WriteBytes uint64 `json:"write_bytes_total"`
	Reads      uint64 `json:"reads_total"`
	Writes     uint64 `json:"writes_total"`
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
	// Cumulative counters since the interface appeared, for Prometheus to
	// rate() (node_network_*_bytes_total).
	RxBytesTotal uint64 `json:"rx_bytes_total,omitempty"`
	TxBytesTotal uint64 `json:"tx_bytes_total,omitempty"`
}

// Temperature is one sensor's reading, in degrees Celsius. High and
// Critical are the sensor's own thresholds, 0 when it gives none.
type Temperature struct {
	Sensor   string  `json:"sensor"`
	Celsius  float64 `json:"celsius"`
	High     float64 `json:"high,omitempty"`
	Critical float64 `json:"critical,omitempty"`
}

// Encode returns the message body: encoding/json's output for the struct
// above, so that a field added to Snapshot is on the wire at once
// (testdata/golden.json pins the result).
func Encode(s *Snapshot) ([]byte, error) { return json.Marshal(s) }

// Limits bound what Decode accepts, so that the costliest message a consumer
// can be made to keep is known in advance. README ("The message") lists them:
// change both together.
const (
	// Shape of the JSON text.
	MaxDepth        = 32       // nesting of objects and arrays; the message itself is depth 1
	MaxNumberLen    = 64       // characters of one JSON number
	MaxUnknownBytes = 16 << 10 // keys sysmon does not know, with their values, all together

	// Strings, in bytes of UTF-8 (control characters are refused in all).
	MaxHostLen     = 253 // host, and a prototype's routing key used as its name
	MaxNameLen     = 255 // mount point, device, file system type, interface name
	MaxStringLen   = 255 // timestamp, platform, platform_release, processor, host_id, instance_id, agent_version
	MaxMissingLen  = 512 // one entry of missing ("filesystem:" and a mount point)
	MaxTagKeyLen   = 32  // a tag's key: a-z 0-9 _ . - (see CheckTag)
	MaxTagValueLen = 64  // a tag's value: A-Z a-z 0-9 _ . - : / @ +

	// Arrays.
	MaxCores       = 4096 // cpu_count and the entries of cpu_per_core
	MaxFilesystems = 256
	MaxInterfaces  = 1024 // a container host has one veth per container
	MaxDisks       = 256  // whole disks with their own counters (the rates count every disk)
	// MaxCPUSecondsCores bounds cpu_seconds_total: 8 counters a core make
	// it the largest list of a message. A larger host sends only the
	// per-core percentages.
	MaxCPUSecondsCores = 1024
	MaxMissing         = 32
	MaxTags            = 16
	MaxTemperatures    = 64

	// Figures.
	MaxPercent         = 100.5   // a little over 100 happens with rounding and per-core accounting
	MaxByteCount       = 1 << 60 // any size in bytes (1 EiB)
	MaxLoad            = 1e6
	MaxBytesPerSec     = 1e13 // disk and network rates (10 TB/s)
	MaxOpsPerSec       = 1e9
	MaxIntervalSeconds = 86400
	MaxUptimeSeconds   = 100 * 366 * 86400
	MaxCPUSeconds      = MaxUptimeSeconds // one core's seconds in one mode
	MinCelsius         = -273.15          // a temperature, and a sensor's high and critical marks
	MaxCelsius         = 1000
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
// rejects wrong types, missing prototype keys, out-of-range values and any
// text that JSON readers may read differently (see checkText): the consumer
// forwards the body as published, so what it validated must be all there is.
func Decode(body []byte, maxBytes int) (*Snapshot, error) {
	if len(body) > maxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(body), maxBytes)
	}
	// NaN cannot be written in JSON, so a field still NaN after decoding was absent.
	s := &Snapshot{CPUPercent: math.NaN(), Memory: Memory{Percent: math.NaN()}}
	if !decodeFast(body, s) {
		// encoding/json replaces invalid UTF-8, lets the last of repeated
		// keys win, matches keys case-insensitively and nests 10,000 deep:
		// the text is checked for all of that first.
		if err := checkText(body); err != nil {
			return nil, err
		}
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

// Validate checks the keys every message must have, and the range of every
// figure and the length of every string and array the consumer keeps or
// shows.
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
	var c checker
	c.percent("cpu_percent", s.CPUPercent)
	c.part("memory", "total", s.Memory.Total, "available", s.Memory.Available, "used", s.Memory.Used)
	c.percent("memory.percent", s.Memory.Percent)
	c.part("disk", "total", s.Disk.Total, "used", s.Disk.Used, "free", s.Disk.Free)
	// Arrays, not maps: Validate runs for every message the consumer takes.
	for _, f := range [...]struct{ name, v string }{{"timestamp", s.Timestamp}, {"platform", s.Platform},
		{"platform_release", s.PlatformRelease}, {"processor", s.Processor}, {"host_id", s.HostID},
		{"instance_id", s.InstanceID}, {"agent_version", s.AgentVersion}} {
		c.text(f.name, f.v, MaxStringLen)
	}
	c.text("host", s.Host, MaxHostLen)
	c.within("interval_seconds", s.IntervalSeconds, 0, MaxIntervalSeconds)
	if s.UptimeSeconds > MaxUptimeSeconds {
		c.fail("uptime_seconds out of range: %d, limit %d", s.UptimeSeconds, MaxUptimeSeconds)
	}
	if s.CPUCount < 0 || s.CPUCount > MaxCores {
		c.fail("cpu_count out of range: %d, limit %d", s.CPUCount, MaxCores)
	}
	c.count("cpu_per_core", len(s.CPUPerCore), MaxCores)
	for _, v := range s.CPUPerCore {
		c.percent("cpu_per_core", v)
	}
	if t := s.CPUSeconds; t != nil {
		for _, m := range t.Modes() {
			if len(m.Values) != len(s.CPUPerCore) || len(m.Values) > MaxCPUSecondsCores {
				c.fail("cpu_seconds_total.%s has %d values for %d cores in cpu_per_core (at most %d)", m.Name, len(m.Values), len(s.CPUPerCore), MaxCPUSecondsCores)
				break
			}
			for _, v := range m.Values {
				c.within("cpu_seconds_total", v, 0, MaxCPUSeconds)
			}
		}
	}
	if s.Load != nil {
		c.within("load.load1", s.Load.Load1, 0, MaxLoad)
		c.within("load.load5", s.Load.Load5, 0, MaxLoad)
		c.within("load.load15", s.Load.Load15, 0, MaxLoad)
	}
	if s.Swap != nil {
		c.part("swap", "total", s.Swap.Total, "used", s.Swap.Used, "free", s.Swap.Free)
		c.percent("swap.percent", s.Swap.Percent)
	}
	c.count("filesystems", len(s.Filesystems), MaxFilesystems)
	for i := range s.Filesystems {
		f := &s.Filesystems[i]
		c.text("filesystems.mountpoint", f.Mountpoint, MaxNameLen)
		c.text("filesystems.device", f.Device, MaxNameLen)
		c.text("filesystems.fstype", f.Fstype, MaxNameLen)
		c.part("filesystems", "total", f.Total, "used", f.Used, "free", f.Free)
		c.percent("filesystems.percent", f.Percent)
		if c.err != nil {
			break
		}
	}
	if d := s.DiskIO; d != nil {
		c.within("disk_io.read_bytes_per_sec", d.ReadBytesPerSec, 0, MaxBytesPerSec)
		c.within("disk_io.write_bytes_per_sec", d.WriteBytesPerSec, 0, MaxBytesPerSec)
		c.within("disk_io.read_ops_per_sec", d.ReadOpsPerSec, 0, MaxOpsPerSec)
		c.within("disk_io.write_ops_per_sec", d.WriteOpsPerSec, 0, MaxOpsPerSec)
		c.count("disk_io.disks", len(d.Disks), MaxDisks)
		for i := range d.Disks {
			k := &d.Disks[i]
			c.text("disk_io.disks.name", k.Name, MaxNameLen)
			for _, v := range [...]uint64{k.ReadBytes, k.WriteBytes, k.Reads, k.Writes} {
				if v > MaxByteCount {
					c.fail("disk_io.disks counter out of range: %d, limit %d", v, uint64(MaxByteCount))
				}
			}
			if c.err != nil {
				break
			}
		}
	}
	if n := s.Network; n != nil {
		c.within("network.rx_bytes_per_sec", n.RxBytesPerSec, 0, MaxBytesPerSec)
		c.within("network.tx_bytes_per_sec", n.TxBytesPerSec, 0, MaxBytesPerSec)
		c.count("network.interfaces", len(n.Interfaces), MaxInterfaces)
		for i := range n.Interfaces {
			in := &n.Interfaces[i]
			c.text("network.interfaces.name", in.Name, MaxNameLen)
			c.within("network.interfaces.rx_bytes_per_sec", in.RxBytesPerSec, 0, MaxBytesPerSec)
			c.within("network.interfaces.tx_bytes_per_sec", in.TxBytesPerSec, 0, MaxBytesPerSec)
			if in.RxBytesTotal > MaxByteCount || in.TxBytesTotal > MaxByteCount {
				c.fail("network.interfaces byte counter out of range, limit %d", uint64(MaxByteCount))
			}
			if c.err != nil {
				break
			}
		}
	}
	c.count("missing", len(s.Missing), MaxMissing)
	for _, m := range s.Missing {
		c.text("missing", m, MaxMissingLen)
	}
	c.count("tags", len(s.Tags), MaxTags)
	if c.err == nil {
		for k, v := range s.Tags {
			if err := CheckTag(k, v); err != nil {
				c.err = err
				break
			}
		}
	}
	c.count("temperatures", len(s.Temperatures), MaxTemperatures)
	var sensorsSeen map[string]bool
	if len(s.Temperatures) > 1 && len(s.Temperatures) <= MaxTemperatures {
		sensorsSeen = make(map[string]bool, len(s.Temperatures))
	}
	for i := range s.Temperatures {
		t := &s.Temperatures[i]
		if t.Sensor == "" {
			c.fail("temperatures.sensor is empty")
		}
		if sensorsSeen != nil {
			if sensorsSeen[t.Sensor] {
				c.fail("temperatures.sensor %q is sent twice", t.Sensor)
			}
			sensorsSeen[t.Sensor] = true
		}
		c.text("temperatures.sensor", t.Sensor, MaxNameLen)
		c.within("temperatures.celsius", t.Celsius, MinCelsius, MaxCelsius)
		c.within("temperatures.high", t.High, MinCelsius, MaxCelsius)
		c.within("temperatures.critical", t.Critical, MinCelsius, MaxCelsius)
		if c.err != nil {
			break
		}
	}
	return c.err
}

// CheckTag tells whether key=value may be a host tag. The rules are
// narrower than other text: tags end up in a search box ("tag:env=prod"),
// in URLs and in Prometheus label values, and HOST_TAGS separates them with
// "," and "=". The publisher checks HOST_TAGS with it at start, the
// consumer every message.
func CheckTag(key, value string) error {
	switch {
	case key == "" || len(key) > MaxTagKeyLen:
		return invalid("tag key %.40q: expected 1 to %d characters", key, MaxTagKeyLen)
	case !tagChars(key, false):
		return invalid("tag key %.40q: expected lower-case letters, digits, '_', '.' or '-', starting with a letter or digit", key)
	case value == "" || len(value) > MaxTagValueLen:
		return invalid("tag %s: value %.40q: expected 1 to %d characters", key, value, MaxTagValueLen)
	case !tagChars(value, true):
		return invalid("tag %s: value %.40q: expected letters, digits or _ . - : / @ +", key, value)
	}
	return nil
}

func tagChars(s string, isValue bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		case isValue && ('A' <= c && c <= 'Z' || c == '_' || c == '.' || c == '-' || c == ':' || c == '/' || c == '@' || c == '+'):
		default:
			return false
		}
	}
	return true
}

// CheckHost tells whether name may be a host's name: the rules of the
// host key, applied also to a prototype's routing key used as its name.
func CheckHost(name string) error {
	var c checker
	if name == "" {
		c.fail("empty host name")
	}
	c.text("host", name, MaxHostLen)
	return c.err
}

// CheckText tells whether v may be a string field of at most limit bytes
// (MaxNameLen, MaxStringLen…): valid UTF-8 without control characters.
// A publisher uses it to leave out what a consumer would refuse.
func CheckText(name, v string, limit int) error {
	var c checker
	c.text(name, v, limit)
	return c.err
}

// checker keeps the first failure of a series of checks; the checks after
// it do nothing, so that a valid message costs no allocation.
type checker struct{ err error }

func (c *checker) fail(format string, args ...any) {
	if c.err == nil {
		c.err = invalid(format, args...)
	}
}

// within also refuses NaN, which Validate may see in a Snapshot that was
// built rather than decoded.
func (c *checker) within(name string, v, lo, hi float64) {
	if c.err == nil && !(v >= lo && v <= hi) {
		c.fail("%s out of range %g–%g: %g", name, lo, hi, v)
	}
}

func (c *checker) percent(name string, v float64) { c.within(name, v, 0, MaxPercent) }

func (c *checker) count(name string, n, limit int) {
	if c.err == nil && n > limit {
		c.fail("%s has %d entries, limit %d", name, n, limit)
	}
}

// part checks a size in bytes and two parts of it.
func (c *checker) part(obj, totalKey string, total uint64, aKey string, a uint64, bKey string, b uint64) {
	switch {
	case c.err != nil:
	case total > MaxByteCount:
		c.fail("%s.%s out of range: %d, limit %d", obj, totalKey, total, uint64(MaxByteCount))
	case a > total:
		c.fail("%s.%s %d exceeds %s.%s %d", obj, aKey, a, obj, totalKey, total)
	case b > total:
		c.fail("%s.%s %d exceeds %s.%s %d", obj, bKey, b, obj, totalKey, total)
	}
}

// text checks a string: at most limit bytes of UTF-8, no control character
// (C0, DEL, C1, nor the bidirectional controls such as U+202E, which would
// let a name such as a host's read as another on the dashboard).
func (c *checker) text(name, v string, limit int) {
	if c.err != nil {
		return
	}
	if len(v) > limit {
		c.fail("%s is %d bytes long, limit %d", name, len(v), limit)
		return
	}
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f {
			c.textSlow(name, v[i:])
			return
		}
	}
}

func (c *checker) textSlow(name, v string) {
	if !utf8.ValidString(v) {
		c.fail("%s is not valid UTF-8", name)
		return
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			c.fail("%s contains control character %U", name, r)
			return
		}
	}
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
