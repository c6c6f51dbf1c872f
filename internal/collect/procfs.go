package collect

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/net"
)

// procFile is a /proc file kept open and read again from offset 0 at every
// sample: one pread. gopsutil (and os.ReadFile) open, fstat, register with
// the poller, read until EOF, unregister and close, eight to ten system
// calls per file per sample, which made most of the publisher's CPU time
// (issue 16). The kernel regenerates a seq file on a read at offset 0.
//
// A procFile belongs to one source, which never runs twice at once.
type procFile struct {
	path string
	fd   int // -1: not open
	buf  []byte
}

func newProcFile(name string) *procFile {
	return &procFile{path: hostPath("HOST_PROC", "/proc") + "/" + name, fd: -1, buf: make([]byte, 4096)}
}

// read returns the file's current content, valid until the next read.
func (f *procFile) read() ([]byte, error) {
	if f.fd < 0 {
		fd, err := syscall.Open(f.path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: f.path, Err: err}
		}
		f.fd = fd
	}
	for {
		n, err := syscall.Pread(f.fd, f.buf, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			syscall.Close(f.fd)
			f.fd = -1 // opened again next time
			return nil, &os.PathError{Op: "read", Path: f.path, Err: err}
		}
		if n < len(f.buf) {
			return f.buf[:n], nil
		}
		// A seq file gives as much as fits: a full buffer may have more.
		f.buf = make([]byte, 2*len(f.buf))
	}
}

// lines calls fn with each line of data, without its newline.
func lines(data []byte, fn func(line []byte) bool) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if !fn(line) {
			return
		}
	}
}

// parseUint parses a decimal counter; anything else is 0, ok false.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// parseStat reads the per-CPU lines of /proc/stat (the "cpuN" lines after
// the total) into dst[:0], as gopsutil's cpu.Times(true) does: times in
// seconds, steal, guest and guest_nice optional, a malformed line skipped.
// It stops at the first line that is not a CPU's (the long interrupt
// counters that follow are never looked at).
func parseStat(data []byte, dst []cpu.TimesStat) []cpu.TimesStat {
	dst = dst[:0]
	first := true
	var f [12][]byte
	lines(data, func(line []byte) bool {
		if !bytes.HasPrefix(line, []byte("cpu")) {
			return false
		}
		if first { // the total
			first = false
			return true
		}
		n := fields(line, f[:])
		if n < 8 {
			return true
		}
		var v [10]uint64
		for i := 1; i < n && i <= 10; i++ {
			x, ok := parseUint(f[i])
			if !ok {
				return true
			}
			v[i-1] = x
		}
		c := cpu.ClocksPerSec
		dst = append(dst, cpu.TimesStat{CPU: string(f[0]), User: float64(v[0]) / c, Nice: float64(v[1]) / c,
			System: float64(v[2]) / c, Idle: float64(v[3]) / c, Iowait: float64(v[4]) / c, Irq: float64(v[5]) / c,
			Softirq: float64(v[6]) / c, Steal: float64(v[7]) / c, Guest: float64(v[8]) / c, GuestNice: float64(v[9]) / c})
		return true
	})
	return dst
}

// fields splits line at spaces into f, as bytes.Fields does but into a
// caller's array; it returns how many it found (at most len(f)).
func fields(line []byte, f [][]byte) int {
	n := 0
	for n < len(f) {
		i := 0
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		line = line[i:]
		if len(line) == 0 {
			break
		}
		j := 0
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		f[n] = line[:j]
		n++
		line = line[j:]
	}
	return n
}

// meminfo is what sysmon sends from /proc/meminfo, in bytes.
type meminfo struct {
	total, available, swapTotal, swapFree uint64
}

var errNoMemAvailable = errors.New("no MemAvailable in meminfo (Linux before 3.14)")

// parseMeminfo reads MemTotal, MemAvailable, SwapTotal and SwapFree; a
// kernel without MemAvailable (before 3.14) gets errNoMemAvailable, and
// the caller falls back on gopsutil's estimate.
func parseMeminfo(data []byte) (meminfo, error) {
	var m meminfo
	found, available := 0, false
	var f [3][]byte
	lines(data, func(line []byte) bool {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return true
		}
		var dst *uint64
		switch string(k) { // no allocation: the compiler compares in place
		case "MemTotal":
			dst = &m.total
		case "MemAvailable":
			dst, available = &m.available, true
		case "SwapTotal":
			dst = &m.swapTotal
		case "SwapFree":
			dst = &m.swapFree
		default:
			return true
		}
		if fields(v, f[:]) < 1 {
			return true
		}
		if x, ok := parseUint(f[0]); ok {
			*dst = x * 1024
			found++
		}
		return found < 4
	})
	if m.total == 0 {
		return m, errors.New("no MemTotal in meminfo")
	}
	if !available {
		return m, errNoMemAvailable
	}
	return m, nil
}

// parseLoadavg reads the three load averages of /proc/loadavg.
func parseLoadavg(data []byte) (l1, l5, l15 float64, err error) {
	var f [3][]byte
	if fields(bytes.TrimSpace(data), f[:]) < 3 {
		return 0, 0, 0, fmt.Errorf("malformed loadavg %q", data)
	}
	var v [3]float64
	for i := range v {
		if v[i], err = strconv.ParseFloat(string(f[i]), 64); err != nil {
			return 0, 0, 0, fmt.Errorf("malformed loadavg %q: %w", data, err)
		}
	}
	return v[0], v[1], v[2], nil
}

// parseNetDev reads the byte counters of /proc/net/dev by interface name,
// loopback left out, as gopsutil's net.IOCounters(true) reads them (a line
// with fewer than 13 counters is skipped, one that does not parse is an
// error).
func parseNetDev(data []byte) (map[string]net.IOCountersStat, error) {
	m := map[string]net.IOCountersStat{}
	n := 0
	var f [16][]byte
	var bad error
	lines(data, func(line []byte) bool {
		n++
		if n <= 2 { // the two header lines
			return true
		}
		i := bytes.LastIndexByte(line, ':')
		if i < 0 {
			return true
		}
		name := bytes.TrimSpace(line[:i])
		if len(name) == 0 || string(name) == "lo" {
			return true
		}
		if fields(line[i+1:], f[:]) < 13 {
			return true
		}
		rx, ok1 := parseUint(f[0])
		tx, ok2 := parseUint(f[8])
		if !ok1 || !ok2 {
			bad = fmt.Errorf("malformed net/dev line %q", line)
			return false
		}
		key := string(name)
		m[key] = net.IOCountersStat{Name: key, BytesRecv: rx, BytesSent: tx}
		return true
	})
	if n < 2 && bad == nil {
		bad = errors.New("malformed net/dev: no header")
	}
	return m, bad
}
