package snapshot

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the message body to b: byte for byte what json.Marshal
// writes (a test checks it on random snapshots), without reflection and
// without allocating when b has room. Values json.Marshal refuses (NaN,
// infinities, a time outside years 0-9999) go through json.Marshal for its
// error.
func AppendJSON(b []byte, s *Snapshot) ([]byte, error) {
	start := len(b)
	e := encoder{b: b}
	e.snapshot(s)
	if e.bad {
		j, err := json.Marshal(s)
		if err != nil {
			return b[:start], err
		}
		return append(b[:start], j...), nil
	}
	return e.b, nil
}

type encoder struct {
	b   []byte
	bad bool // a value only json.Marshal can judge
}

func (e *encoder) key(k string, first bool) {
	if !first {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
}

func (e *encoder) str(k string, v string, first bool) {
	e.key(k, first)
	e.b = appendQuoted(e.b, v)
}

func (e *encoder) uint(k string, v uint64, first bool) {
	e.key(k, first)
	e.b = strconv.AppendUint(e.b, v, 10)
}

func (e *encoder) float(k string, v float64, first bool) {
	e.key(k, first)
	e.floatValue(v)
}

func (e *encoder) floatValue(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		e.bad = true
		return
	}
	// As encoding/json: ES6 number formatting, exponent only for very small
	// or very large values, and no zero padding in it.
	abs, f := math.Abs(v), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		f = 'e'
	}
	e.b = strconv.AppendFloat(e.b, v, f, -1, 64)
	if f == 'e' {
		n := len(e.b)
		if n >= 4 && e.b[n-4] == 'e' && e.b[n-3] == '-' && e.b[n-2] == '0' {
			e.b[n-2] = e.b[n-1]
			e.b = e.b[:n-1]
		}
	}
}

func (e *encoder) snapshot(s *Snapshot) {
	e.b = append(e.b, '{')
	e.str("timestamp", s.Timestamp, true)
	e.float("cpu_percent", s.CPUPercent, false)
	e.key("memory", false)
	e.b = append(e.b, '{')
	e.uint("total", s.Memory.Total, true)
	e.uint("available", s.Memory.Available, false)
	e.float("percent", s.Memory.Percent, false)
	if s.Memory.Used != 0 {
		e.uint("used", s.Memory.Used, false)
	}
	e.b = append(e.b, '}')
	e.key("disk", false)
	e.b = append(e.b, '{')
	e.uint("total", s.Disk.Total, true)
	e.uint("used", s.Disk.Used, false)
	e.uint("free", s.Disk.Free, false)
	e.b = append(e.b, '}')
	e.str("platform", s.Platform, false)
	e.str("platform_release", s.PlatformRelease, false)
	e.str("processor", s.Processor, false)
	if s.Schema != 0 {
		e.key("schema", false)
		e.b = strconv.AppendInt(e.b, int64(s.Schema), 10)
	}
	if s.Host != "" {
		e.str("host", s.Host, false)
	}
	if s.HostID != "" {
		e.str("host_id", s.HostID, false)
	}
	if s.InstanceID != "" {
		e.str("instance_id", s.InstanceID, false)
	}
	if s.Seq != 0 {
		e.uint("seq", s.Seq, false)
	}
	if s.Time != nil {
		e.key("time", false)
		_, off := s.Time.Zone()
		if y := s.Time.Year(); y < 0 || y > 9999 || off <= -24*3600 || off >= 24*3600 {
			e.bad = true
		} else {
			e.b = append(e.b, '"')
			e.b = s.Time.AppendFormat(e.b, "2006-01-02T15:04:05.999999999Z07:00")
			e.b = append(e.b, '"')
		}
	}
	if s.IntervalSeconds != 0 {
		e.float("interval_seconds", s.IntervalSeconds, false)
	}
	if s.AgentVersion != "" {
		e.str("agent_version", s.AgentVersion, false)
	}
	if s.UptimeSeconds != 0 {
		e.uint("uptime_seconds", s.UptimeSeconds, false)
	}
	if s.CPUCount != 0 {
		e.key("cpu_count", false)
		e.b = strconv.AppendInt(e.b, int64(s.CPUCount), 10)
	}
	if len(s.CPUPerCore) > 0 {
		e.key("cpu_per_core", false)
		e.b = append(e.b, '[')
		for i, c := range s.CPUPerCore {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.floatValue(c)
		}
		e.b = append(e.b, ']')
	}
	if s.Load != nil {
		e.key("load", false)
		e.b = append(e.b, '{')
		e.float("load1", s.Load.Load1, true)
		e.float("load5", s.Load.Load5, false)
		e.float("load15", s.Load.Load15, false)
		e.b = append(e.b, '}')
	}
	if s.Swap != nil {
		e.key("swap", false)
		e.b = append(e.b, '{')
		e.uint("total", s.Swap.Total, true)
		e.uint("used", s.Swap.Used, false)
		e.uint("free", s.Swap.Free, false)
		e.float("percent", s.Swap.Percent, false)
		e.b = append(e.b, '}')
	}
	if len(s.Filesystems) > 0 {
		e.key("filesystems", false)
		e.b = append(e.b, '[')
		for i := range s.Filesystems {
			f := &s.Filesystems[i]
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.b = append(e.b, '{')
			e.str("mountpoint", f.Mountpoint, true)
			e.str("device", f.Device, false)
			e.str("fstype", f.Fstype, false)
			e.uint("total", f.Total, false)
			e.uint("used", f.Used, false)
			e.uint("free", f.Free, false)
			e.float("percent", f.Percent, false)
			e.b = append(e.b, '}')
		}
		e.b = append(e.b, ']')
	}
	if s.DiskIO != nil {
		e.key("disk_io", false)
		e.b = append(e.b, '{')
		e.float("read_bytes_per_sec", s.DiskIO.ReadBytesPerSec, true)
		e.float("write_bytes_per_sec", s.DiskIO.WriteBytesPerSec, false)
		e.float("read_ops_per_sec", s.DiskIO.ReadOpsPerSec, false)
		e.float("write_ops_per_sec", s.DiskIO.WriteOpsPerSec, false)
		e.b = append(e.b, '}')
	}
	if s.Network != nil {
		e.key("network", false)
		e.b = append(e.b, '{')
		e.float("rx_bytes_per_sec", s.Network.RxBytesPerSec, true)
		e.float("tx_bytes_per_sec", s.Network.TxBytesPerSec, false)
		if len(s.Network.Interfaces) > 0 {
			e.key("interfaces", false)
			e.b = append(e.b, '[')
			for i := range s.Network.Interfaces {
				in := &s.Network.Interfaces[i]
				if i > 0 {
					e.b = append(e.b, ',')
				}
				e.b = append(e.b, '{')
				e.str("name", in.Name, true)
				e.float("rx_bytes_per_sec", in.RxBytesPerSec, false)
				e.float("tx_bytes_per_sec", in.TxBytesPerSec, false)
				e.b = append(e.b, '}')
			}
			e.b = append(e.b, ']')
		}
		e.b = append(e.b, '}')
	}
	if len(s.Missing) > 0 {
		e.key("missing", false)
		e.b = append(e.b, '[')
		for i, m := range s.Missing {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.b = appendQuoted(e.b, m)
		}
		e.b = append(e.b, ']')
	}
	if s.Goodbye {
		e.key("goodbye", false)
		e.b = append(e.b, "true"...)
	}
	e.b = append(e.b, '}')
}

const hexDigits = "0123456789abcdef"

// appendQuoted is encoding/json's string encoding with HTML escaping.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
