package hub

import (
	"bufio"
	"encoding/json"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/packed"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// The encoders of protocol.go's objects. They write by hand what
// encoding/json would (TestEncodersMatchProtocol holds them to it): one
// update is encoded once per change and sent to every dashboard, and a state
// frame of 10,000 hosts is written from the entries kept encoded.

// appendCommon writes `"cpu":…,"mem":…,…,"wr":…`: the values Figures and
// Point share, at the point's float32 precision. An update carries both,
// and writes them once.
func appendCommon(b []byte, v *[10]float32) []byte {
	for i, k := range [...]string{`"cpu":`, `,"mem":`, `,"swap":`, `,"load1":`, `,"load5":`, `,"load15":`, `,"rx":`, `,"tx":`, `,"rd":`, `,"wr":`} {
		b = append(b, k...)
		b = appendFloat32(b, v[i])
	}
	return b
}

func commonOfFigures(f *fleet.Figures) *[10]float32 {
	return &[10]float32{float32(f.CPU), float32(f.Mem), float32(f.Swap), float32(f.Load1), float32(f.Load5),
		float32(f.Load15), float32(f.Rx), float32(f.Tx), float32(f.Rd), float32(f.Wr)}
}

func commonOfPoint(p *fleet.Point) *[10]float32 {
	return &[10]float32{p.CPU, p.Mem, p.Swap, p.Load1, p.Load5, p.Load15, p.Rx, p.Tx, p.Rd, p.Wr}
}

// marks are where appendHead wrote the parts of an entry that the hub
// reads or leaves out again.
type marks struct {
	statusAt, statusEnd int // the status value, written afresh into each state
	// The host's facts (FactKeys), in two runs that each start with a
	// comma: the head's, then the figures'. They end where the figures'
	// lists start (listsAt), where a lean entry ends.
	factsAt, factsEnd, figFactsAt int
	listsAt                       int
}

// appendHead writes a HostEntry up to its snapshot: `{"host":…,"snapshot":`,
// with marks (a lean entry is the head up to the figures' lists, then `}`).
// common is appendCommon's output for its figures, or nil.
func appendHead(b []byte, e *fleet.Entry, common []byte) ([]byte, marks) {
	var m marks
	b = append(b, `{"host":`...)
	b = appendString(b, e.Host)
	b = append(b, `,"last_seen":"`...)
	b = e.LastSeen.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","status":"`...)
	m.statusAt = len(b)
	b = append(b, e.Status...)
	m.statusEnd = len(b)
	b = append(b, `","goodbye":`...)
	b = strconv.AppendBool(b, e.Goodbye)
	m.factsAt = len(b)
	if e.HostID != "" {
		b = append(b, `,"host_id":`...)
		b = appendString(b, e.HostID)
	}
	b = append(b, `,"legacy":`...)
	b = strconv.AppendBool(b, e.Legacy)
	b = append(b, `,"interval_seconds":`...)
	b = appendFloat32(b, float32(e.Interval))
	m.factsEnd = len(b)
	b = append(b, `,"figures":`...)
	b, m.figFactsAt, m.listsAt = appendFigures(b, &e.Figures, common)
	b = append(b, `,"snapshot":`...)
	return b, m
}

// appendFigures writes a Figures object, the host's facts (FactKeys) after
// its figures, and its lists last; it returns where the facts and the
// lists start. common is appendCommon's output for it, or nil.
func appendFigures(b []byte, f *fleet.Figures, common []byte) (out []byte, factsAt, listsAt int) {
	b = append(b, '{')
	if common != nil {
		b = append(b, common...)
	} else {
		b = appendCommon(b, commonOfFigures(f))
	}
	for _, v := range [...]struct {
		k string
		v float64
	}{{"load_per_core", f.LoadPerCore}, {"uptime", f.Uptime}, {"rd_ops", f.RdOps}, {"wr_ops", f.WrOps}} {
		b = append(b, ',', '"')
		b = append(b, v.k...)
		b = append(b, '"', ':')
		b = appendFloat64(b, v.v)
	}
	b = append(b, `,"seq":`...)
	if f.Seq > 0 {
		b = strconv.AppendUint(b, f.Seq, 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"disk":`...)
	b = appendFloat64(b, f.Disk)
	b = append(b, `,"sampled_at":`...)
	if f.SampledAt != nil {
		b = append(b, '"')
		b = f.SampledAt.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	} else {
		b = appendString(b, f.Timestamp)
	}
	// A degraded host shows on its tile: not one of the host view's lists.
	b = append(b, `,"missing":[`...)
	for i, m := range f.Missing {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m)
	}
	b = append(b, ']')
	b = append(b, `,"temp":`...)
	b = appendFloat64(b, f.Temp)
	b = append(b, `,"temp_level":`...)
	b = appendString(b, f.TempLevel)

	factsAt = len(b)
	b = append(b, `,"mem_total":`...)
	b = appendFloat64(b, f.MemTotal)
	b = append(b, `,"swap_total":`...)
	b = appendFloat64(b, f.SwapTotal)
	b = append(b, `,"cores":`...)
	if f.Cores > 0 {
		b = strconv.AppendInt(b, int64(f.Cores), 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"disk_mount":`...)
	b = appendString(b, f.DiskMount)
	for _, v := range [...]struct{ k, v string }{{"platform", f.Platform}, {"platform_release", f.PlatformRelease},
		{"processor", f.Processor}, {"agent_version", f.AgentVersion}} {
		b = append(b, ',', '"')
		b = append(b, v.k...)
		b = append(b, '"', ':')
		b = appendString(b, v.v)
	}
	if len(f.Tags) > 0 {
		// Sorted, as encoding/json writes a map.
		var few [snapshot.MaxTags]string
		keys := few[:0]
		for k := range f.Tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `,"tags":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, f.Tags[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"temp_sensor":`...)
	b = appendString(b, f.TempSensor)
	listsAt = len(b)
	b = append(b, `,"fs":[`...)
	for i := range f.Filesystems {
		fs := &f.Filesystems[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"mountpoint":`...)
		b = appendString(b, fs.Mountpoint)
		b = append(b, `,"device":`...)
		b = appendString(b, fs.Device)
		b = append(b, `,"fstype":`...)
		b = appendString(b, fs.Fstype)
		b = append(b, `,"total":`...)
		b = strconv.AppendUint(b, fs.Total, 10)
		b = append(b, `,"used":`...)
		b = strconv.AppendUint(b, fs.Used, 10)
		b = append(b, `,"free":`...)
		b = strconv.AppendUint(b, fs.Free, 10)
		b = append(b, `,"percent":`...)
		b = appendFloat64(b, fs.Percent)
		b = append(b, '}')
	}
	b = append(b, `],"net":[`...)
	for i := range f.Interfaces {
		it := &f.Interfaces[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, it.Name)
		b = append(b, `,"rx":`...)
		b = appendFloat64(b, it.RxBytesPerSec)
		b = append(b, `,"tx":`...)
		b = appendFloat64(b, it.TxBytesPerSec)
		b = append(b, '}')
	}
	b = append(b, ']')
	if len(f.Temperatures) > 0 {
		b = append(b, `,"temps":[`...)
		for i := range f.Temperatures {
			t := &f.Temperatures[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"sensor":`...)
			b = appendString(b, t.Sensor)
			b = append(b, `,"celsius":`...)
			b = appendFloat64(b, t.Celsius)
			if t.High != 0 {
				b = append(b, `,"high":`...)
				b = appendFloat64(b, t.High)
			}
			if t.Critical != 0 {
				b = append(b, `,"critical":`...)
				b = appendFloat64(b, t.Critical)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}'), factsAt, listsAt
}

// appendPoint writes a Point object: {"t":…,"cpu":…,…,"cores":[…],"fs":{"/":…}};
// common is appendCommon's output for it, or nil.
func appendPoint(b []byte, p *fleet.Point, common []byte) []byte {
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, p.T, 10)
	b = append(b, ',')
	if common != nil {
		b = append(b, common...)
	} else {
		b = appendCommon(b, commonOfPoint(p))
	}
	if cores := p.Cores(); len(cores) > 0 {
		b = append(b, `,"cores":[`...)
		for i, c := range cores {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFloat32(b, c)
		}
		b = append(b, ']')
	}
	if mounts, fs := p.Mounts(), p.FS(); len(mounts) > 0 {
		b = append(b, `,"fs":{`...)
		for i, m := range mounts {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m)
			b = append(b, ':')
			b = appendFloat32(b, fs[i])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendRemoved writes a RemovedEntry.
func appendRemoved(b []byte, host string) []byte {
	b = append(b, `{"host":`...)
	b = appendString(b, host)
	return append(b, `,"removed":true}`...)
}

// appendFloat32 writes f as strconv's shortest 'f' form, null for NaN or
// an infinity; whole numbers (byte counts, 0, 100) skip the float
// formatting, with the same digits.
func appendFloat32(b []byte, f float32) []byte {
	switch {
	case f != f || math.IsInf(float64(f), 0):
		return append(b, "null"...)
	case f > -1<<24 && f < 1<<24 && f == float32(int32(f)):
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, float64(f), 'f', -1, 32)
}

func appendFloat64(b []byte, f float64) []byte {
	switch {
	case f != f || math.IsInf(f, 0):
		return append(b, "null"...)
	case f > -1<<53 && f < 1<<53 && f == float64(int64(f)):
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
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

// apiEntry is one host as the JSON API writes it: head, the snapshot (the
// fleet's, packed: unpacked as it is written) and history points.
type apiEntry struct {
	head     []byte
	snap     packed.JSON
	hist     []fleet.Point
	withHist bool
}

// writeEntries writes entries through a buffer: a response is never built
// whole in memory, however many hosts or points it holds.
func writeEntries(w io.Writer, entries []apiEntry, array bool) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	var b, plain []byte
	if array {
		bw.WriteByte('[')
	}
	for i, e := range entries {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(e.head)
		plain = e.snap.AppendPlain(plain[:0])
		bw.Write(plain)
		if e.withHist {
			bw.WriteString(`,"history":[`)
			for k := range e.hist {
				b = b[:0]
				if k > 0 {
					b = append(b, ',')
				}
				b = appendPoint(b, &e.hist[k], nil)
				if _, err := bw.Write(b); err != nil {
					return err
				}
			}
			bw.WriteByte(']')
		}
		if err := bw.WriteByte('}'); err != nil {
			return err
		}
	}
	if array {
		bw.WriteByte(']')
	}
	return bw.Flush()
}
