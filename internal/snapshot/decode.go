package snapshot

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// decodeFast fills s from body for the common case: the keys sysmon and the
// prototype write, each once, spelt exactly, with plain values. It reports
// false for anything else (escapes in strings, null, unknown or repeated
// keys, invalid JSON, out-of-range or overlong numbers…), and the caller then decodes
// with encoding/json, whose behaviour stays the reference: on every input
// decodeFast accepts, it must give what json.Unmarshal gives (a fuzz test
// checks it). It is several times faster and allocates only the strings and
// slices it keeps, which matters at tens of thousands of messages a second.
func decodeFast(body []byte, s *Snapshot) bool {
	d := decoder{b: body}
	if !d.object(func(key []byte) bool { return d.topField(key, s) }) {
		return false
	}
	d.ws()
	return d.i == len(d.b)
}

type decoder struct {
	b    []byte
	i    int
	seen uint64 // top-level keys already set (a repeat goes to the slow path)
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *decoder) eat(c byte) bool {
	if d.peek() == c {
		d.i++
		return true
	}
	return false
}

// object parses {"key": value, ...}, calling field for each key with the
// decoder positioned at the value; field must consume the value.
func (d *decoder) object(field func(key []byte) bool) bool {
	if !d.eat('{') {
		return false
	}
	if d.eat('}') {
		return true
	}
	for {
		key, ok := d.rawString()
		if !ok || !d.eat(':') || !field(key) {
			return false
		}
		if d.eat(',') {
			continue
		}
		return d.eat('}')
	}
}

// array parses [v, ...], calling elem for each element.
func (d *decoder) array(elem func() bool) bool {
	if !d.eat('[') {
		return false
	}
	if d.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.eat(',') {
			continue
		}
		return d.eat(']')
	}
}

// rawString returns the bytes of a string without escapes (the slow path
// handles escapes) that is valid UTF-8 with no control characters.
func (d *decoder) rawString() ([]byte, bool) {
	if d.peek() != '"' {
		return nil, false
	}
	start := d.i + 1
	ascii := true
	for j := start; j < len(d.b); j++ {
		c := d.b[j]
		switch {
		case c == '"':
			d.i = j + 1
			s := d.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false // json.Unmarshal replaces invalid bytes: slow path
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false
}

func (d *decoder) str(dst *string) bool {
	s, ok := d.rawString()
	if ok {
		*dst = string(s)
	}
	return ok
}

// number returns the bytes of a JSON number, checked against the grammar.
func (d *decoder) number() ([]byte, bool) {
	d.ws()
	b, i := d.b, d.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.i = i
	return b[start:i], true
}

func (d *decoder) float(dst *float64) bool {
	n, ok := d.number()
	if !ok || len(n) > MaxNumberLen {
		return false
	}
	// Up to 15 digits, with or without a fraction, and no exponent: the
	// digits as an integer are exact in a float64, and so is the power of
	// ten to divide by, so one division is the correctly rounded value,
	// the one ParseFloat gives (its own first, exact, path; Clinger's).
	// Most figures are such decimals (578896.2, 41.35): this skips
	// ParseFloat's general reading of them.
	if len(n) <= 16 {
		var m uint64
		neg, k, digits, frac := false, 0, 0, -1
		if n[0] == '-' {
			neg, k = true, 1
		}
		for ; k < len(n); k++ {
			c := n[k]
			switch {
			case c >= '0' && c <= '9':
				m = m*10 + uint64(c-'0')
				digits++
				if frac >= 0 {
					frac++
				}
				continue
			case c == '.' && frac < 0:
				frac = 0
				continue
			}
			break
		}
		if k == len(n) && digits <= 15 {
			v := float64(m)
			if frac > 0 {
				v /= pow10[frac]
			}
			if neg {
				v = -v
			}
			*dst = v
			return true
		}
	}
	v, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(v, 0) {
		return false
	}
	*dst = v
	return true
}

// pow10 are the powers of ten up to 1e15, all exact in a float64.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

func (d *decoder) uint(dst *uint64) bool {
	n, ok := d.number()
	if !ok || len(n) == 0 || len(n) > 20 {
		return false
	}
	var v uint64
	for _, c := range n {
		if c < '0' || c > '9' {
			return false // negative, fraction or exponent: json.Unmarshal fails, slow path says why
		}
		if v > (math.MaxUint64-uint64(c-'0'))/10 {
			return false
		}
		v = v*10 + uint64(c-'0')
	}
	*dst = v
	return true
}

func (d *decoder) int(dst *int) bool {
	n, ok := d.number()
	if !ok || len(n) > 18 {
		return false
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || int64(int(v)) != v {
		return false
	}
	*dst = int(v)
	return true
}

func (d *decoder) boolean(dst *bool) bool {
	d.ws()
	rest := d.b[d.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		*dst = true
		d.i += 4
	case len(rest) >= 5 && string(rest[:5]) == "false":
		*dst = false
		d.i += 5
	default:
		return false
	}
	return true
}

// once marks top-level key number k as seen; a repeat goes to the slow path
// (json.Unmarshal merges a repeated object into the first one).
func (d *decoder) once(k uint) bool {
	if d.seen&(1<<k) != 0 {
		return false
	}
	d.seen |= 1 << k
	return true
}

func (d *decoder) topField(key []byte, s *Snapshot) bool {
	switch string(key) {
	case "timestamp":
		return d.once(0) && d.str(&s.Timestamp)
	case "cpu_percent":
		return d.once(1) && d.float(&s.CPUPercent)
	case "memory":
		var seen uint8
		return d.once(2) && d.object(func(k []byte) bool {
			switch string(k) {
			case "total":
				return onceIn(&seen, 0) && d.uint(&s.Memory.Total)
			case "available":
				return onceIn(&seen, 1) && d.uint(&s.Memory.Available)
			case "percent":
				return onceIn(&seen, 2) && d.float(&s.Memory.Percent)
			case "used":
				return onceIn(&seen, 3) && d.uint(&s.Memory.Used)
			}
			return false
		})
	case "disk":
		var seen uint8
		return d.once(3) && d.object(func(k []byte) bool {
			switch string(k) {
			case "total":
				return onceIn(&seen, 0) && d.uint(&s.Disk.Total)
			case "used":
				return onceIn(&seen, 1) && d.uint(&s.Disk.Used)
			case "free":
				return onceIn(&seen, 2) && d.uint(&s.Disk.Free)
			}
			return false
		})
	case "platform":
		return d.once(4) && d.str(&s.Platform)
	case "platform_release":
		return d.once(5) && d.str(&s.PlatformRelease)
	case "processor":
		return d.once(6) && d.str(&s.Processor)
	case "schema":
		return d.once(7) && d.int(&s.Schema)
	case "host":
		return d.once(8) && d.str(&s.Host)
	case "host_id":
		return d.once(9) && d.str(&s.HostID)
	case "instance_id":
		return d.once(10) && d.str(&s.InstanceID)
	case "seq":
		return d.once(11) && d.uint(&s.Seq)
	case "time":
		if !d.once(12) || d.peek() != '"' {
			return false
		}
		start := d.i
		if _, ok := d.rawString(); !ok {
			return false
		}
		t := new(time.Time)
		if t.UnmarshalJSON(d.b[start:d.i]) != nil {
			return false
		}
		s.Time = t
		return true
	case "interval_seconds":
		return d.once(13) && d.float(&s.IntervalSeconds)
	case "agent_version":
		return d.once(14) && d.str(&s.AgentVersion)
	case "uptime_seconds":
		return d.once(15) && d.uint(&s.UptimeSeconds)
	case "cpu_count":
		return d.once(16) && d.int(&s.CPUCount)
	case "cpu_per_core":
		if !d.once(17) {
			return false
		}
		s.CPUPerCore = make([]float64, 0, 16)
		return d.array(func() bool {
			var v float64
			if !d.float(&v) {
				return false
			}
			s.CPUPerCore = append(s.CPUPerCore, v)
			return true
		})
	case "cpu_seconds_total":
		var seen uint8
		t := &CPUSeconds{}
		s.CPUSeconds = t
		dst := [...]*[]float64{&t.User, &t.Nice, &t.System, &t.Idle, &t.Iowait, &t.Irq, &t.Softirq, &t.Steal}
		return d.once(25) && d.object(func(k []byte) bool {
			i := slices.Index(cpuModes[:], string(k))
			if i < 0 || !onceIn(&seen, uint(i)) {
				return false
			}
			*dst[i] = make([]float64, 0, 16)
			return d.array(func() bool {
				var v float64
				if !d.float(&v) {
					return false
				}
				*dst[i] = append(*dst[i], v)
				return len(*dst[i]) <= MaxCores // far over: let the slow path reject it
			})
		})
	case "load":
		var seen uint8
		s.Load = &Load{}
		return d.once(18) && d.object(func(k []byte) bool {
			switch string(k) {
			case "load1":
				return onceIn(&seen, 0) && d.float(&s.Load.Load1)
			case "load5":
				return onceIn(&seen, 1) && d.float(&s.Load.Load5)
			case "load15":
				return onceIn(&seen, 2) && d.float(&s.Load.Load15)
			}
			return false
		})
	case "swap":
		var seen uint8
		s.Swap = &Swap{}
		return d.once(19) && d.object(func(k []byte) bool {
			switch string(k) {
			case "total":
				return onceIn(&seen, 0) && d.uint(&s.Swap.Total)
			case "used":
				return onceIn(&seen, 1) && d.uint(&s.Swap.Used)
			case "free":
				return onceIn(&seen, 2) && d.uint(&s.Swap.Free)
			case "percent":
				return onceIn(&seen, 3) && d.float(&s.Swap.Percent)
			}
			return false
		})
	case "filesystems":
		if !d.once(20) {
			return false
		}
		s.Filesystems = make([]Filesystem, 0, 4)
		return d.array(func() bool {
			var f Filesystem
			var seen uint8
			ok := d.object(func(k []byte) bool {
				switch string(k) {
				case "mountpoint":
					return onceIn(&seen, 0) && d.str(&f.Mountpoint)
				case "device":
					return onceIn(&seen, 1) && d.str(&f.Device)
				case "fstype":
					return onceIn(&seen, 2) && d.str(&f.Fstype)
				case "total":
					return onceIn(&seen, 3) && d.uint(&f.Total)
				case "used":
					return onceIn(&seen, 4) && d.uint(&f.Used)
				case "free":
					return onceIn(&seen, 5) && d.uint(&f.Free)
				case "percent":
					return onceIn(&seen, 6) && d.float(&f.Percent)
				}
				return false
			})
			s.Filesystems = append(s.Filesystems, f)
			return ok
		})
	case "disk_io":
		var seen uint8
		s.DiskIO = &DiskIO{}
		return d.once(21) && d.object(func(k []byte) bool {
			switch string(k) {
			case "read_bytes_per_sec":
				return onceIn(&seen, 0) && d.float(&s.DiskIO.ReadBytesPerSec)
			case "write_bytes_per_sec":
				return onceIn(&seen, 1) && d.float(&s.DiskIO.WriteBytesPerSec)
			case "read_ops_per_sec":
				return onceIn(&seen, 2) && d.float(&s.DiskIO.ReadOpsPerSec)
			case "write_ops_per_sec":
				return onceIn(&seen, 3) && d.float(&s.DiskIO.WriteOpsPerSec)
			case "disks":
				if !onceIn(&seen, 4) {
					return false
				}
				s.DiskIO.Disks = make([]DiskCounters, 0, 2)
				return d.array(func() bool {
					var k DiskCounters
					var seen uint8
					ok := d.object(func(key []byte) bool {
						switch string(key) {
						case "name":
							return onceIn(&seen, 0) && d.str(&k.Name)
						case "read_bytes_total":
							return onceIn(&seen, 1) && d.uint(&k.ReadBytes)
						case "write_bytes_total":
							return onceIn(&seen, 2) && d.uint(&k.WriteBytes)
						case "reads_total":
							return onceIn(&seen, 3) && d.uint(&k.Reads)
						case "writes_total":
							return onceIn(&seen, 4) && d.uint(&k.Writes)
						}
						return false
					})
					s.DiskIO.Disks = append(s.DiskIO.Disks, k)
					return ok && len(s.DiskIO.Disks) <= MaxDisks
				})
			}
			return false
		})
	case "network":
		var seen uint8
		s.Network = &Network{}
		return d.once(22) && d.object(func(k []byte) bool {
			switch string(k) {
			case "rx_bytes_per_sec":
				return onceIn(&seen, 0) && d.float(&s.Network.RxBytesPerSec)
			case "tx_bytes_per_sec":
				return onceIn(&seen, 1) && d.float(&s.Network.TxBytesPerSec)
			case "interfaces":
				if !onceIn(&seen, 2) {
					return false
				}
				s.Network.Interfaces = make([]Interface, 0, 4)
				return d.array(func() bool {
					var in Interface
					var seen uint8
					ok := d.object(func(k []byte) bool {
						switch string(k) {
						case "name":
							return onceIn(&seen, 0) && d.str(&in.Name)
						case "rx_bytes_per_sec":
							return onceIn(&seen, 1) && d.float(&in.RxBytesPerSec)
						case "tx_bytes_per_sec":
							return onceIn(&seen, 2) && d.float(&in.TxBytesPerSec)
						case "rx_bytes_total":
							return onceIn(&seen, 3) && d.uint(&in.RxBytesTotal)
						case "tx_bytes_total":
							return onceIn(&seen, 4) && d.uint(&in.TxBytesTotal)
						}
						return false
					})
					s.Network.Interfaces = append(s.Network.Interfaces, in)
					return ok
				})
			}
			return false
		})
	case "missing":
		if !d.once(23) {
			return false
		}
		s.Missing = make([]string, 0, 2)
		return d.array(func() bool {
			var v string
			if !d.str(&v) {
				return false
			}
			s.Missing = append(s.Missing, v)
			return len(s.Missing) <= MaxMissing*4 // far over the limit: let the slow path reject it
		})
	case "goodbye":
		return d.once(24) && d.boolean(&s.Goodbye)
	case "tags":
		if !d.once(26) {
			return false
		}
		s.Tags = make(map[string]string, 4)
		return d.object(func(k []byte) bool {
			// Keys as CheckTag wants them are lower-case ASCII, so that
			// an exact repeat is the only repeat (checkText compares
			// keys folded): anything else goes to the slow path.
			if !tagChars(string(k), false) || len(s.Tags) >= MaxTags*4 {
				return false
			}
			if _, dup := s.Tags[string(k)]; dup {
				return false
			}
			var v string
			if !d.str(&v) {
				return false
			}
			s.Tags[string(k)] = v
			return true
		})
	case "temperatures":
		if !d.once(27) {
			return false
		}
		s.Temperatures = make([]Temperature, 0, 4)
		return d.array(func() bool {
			var t Temperature
			var seen uint8
			ok := d.object(func(k []byte) bool {
				switch string(k) {
				case "sensor":
					return onceIn(&seen, 0) && d.str(&t.Sensor)
				case "celsius":
					return onceIn(&seen, 1) && d.float(&t.Celsius)
				case "high":
					return onceIn(&seen, 2) && d.float(&t.High)
				case "critical":
					return onceIn(&seen, 3) && d.float(&t.Critical)
				}
				return false
			})
			s.Temperatures = append(s.Temperatures, t)
			return ok && len(s.Temperatures) <= MaxTemperatures*4
		})
	}
	return false
}

// cpuModes are cpu_seconds_total's keys, in the order of CPUSeconds.Modes.
var cpuModes = [...]string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"}

func onceIn(seen *uint8, k uint) bool {
	if *seen&(1<<k) != 0 {
		return false
	}
	*seen |= 1 << k
	return true
}
