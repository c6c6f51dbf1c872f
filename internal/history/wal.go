package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"
)

// The write-ahead log keeps the samples of the minutes not yet sealed into
// the database: Run appends the second's samples as one record and Open
// replays it. A record is [length u32][crc32c u32][payload]; a torn or
// corrupt tail (a kill in the middle of a write) ends the replay and is cut
// off. Each seal writes the samples still open to a new generation, and the
// database says which generation is current, so a sample is sealed exactly
// once whatever moment a crash picks.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const walPrefix = "wal-"

func walPath(dir string, gen uint64) string {
	return filepath.Join(dir, walPrefix+strconv.FormatUint(gen, 10))
}

type wal struct {
	f      *os.File
	size   int64
	broken bool   // a write failed: it misses a record
	dirty  bool   // written since the last sync
	buf    []byte // the record as written, kept for the next
}

// createWAL writes generation gen holding payload (may be empty), synced,
// and keeps it open for appending. It writes beside and renames, so that
// a generation rewritten in place (mendLog) is never half written.
func createWAL(dir string, gen uint64, payload []byte) (*wal, error) {
	p := walPath(dir, gen)
	tmp := p + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", tmp, err)
	}
	w := &wal{f: f}
	if len(payload) > 0 {
		err = w.append(payload)
	}
	if err == nil {
		if err = f.Sync(); err != nil {
			err = fmt.Errorf("sync %s: %w", tmp, err)
		}
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		f.Close()
		_ = os.Remove(tmp)
		return nil, err
	}
	return w, nil
}

const tmpSuffix = ".new"

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// openWAL opens an existing generation for appending after its valid part.
func openWAL(dir string, gen uint64, valid int64) (*wal, error) {
	p := walPath(dir, gen)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	if err := f.Truncate(valid); err != nil {
		f.Close()
		return nil, fmt.Errorf("truncate %s: %w", p, err)
	}
	if _, err := f.Seek(valid, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("seek %s: %w", p, err)
	}
	return &wal{f: f, size: valid}, nil
}

// append writes one record in one write call.
func (w *wal) append(payload []byte) error {
	rec := binary.LittleEndian.AppendUint32(w.buf[:0], uint32(len(payload)))
	rec = binary.LittleEndian.AppendUint32(rec, crc32.Checksum(payload, castagnoli))
	rec = append(rec, payload...)
	w.buf = keepBuf(rec)
	n, err := w.f.Write(rec)
	w.size += int64(n)
	if err != nil {
		// A partial record would be cut off at replay; cut it now so
		// that the next append is not lost behind it.
		w.size -= int64(n)
		if n > 0 {
			terr := w.f.Truncate(w.size)
			if _, serr := w.f.Seek(w.size, io.SeekStart); terr != nil || serr != nil {
				w.broken = true // the torn record stays: mendLog writes it anew
			}
		}
		return fmt.Errorf("write %s: %w", w.f.Name(), err)
	}
	w.dirty = true
	return nil
}

// keepBuf is b to reuse, or nil when it is too large to keep between
// writes: a new generation's first record, a backlog's burst.
func keepBuf[T any](b []T) []T {
	if cap(b)*int(unsafe.Sizeof(*new(T))) > maxKeptBuf {
		return nil
	}
	return b[:0]
}

// maxKeptBuf bounds what a log and a flush keep for their next record:
// twice a second of 10,000 hosts at 1 Hz.
const maxKeptBuf = 4 << 20

func (w *wal) sync() error {
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", w.f.Name(), err)
	}
	w.dirty = false
	return nil
}

func (w *wal) close() error { return w.f.Close() }

// replayWAL calls fn with each host and its encoded samples (appendSample,
// one after the other) of generation gen, and the offset where their record
// ends, and returns the length of its valid part (0 when it does not exist).
func replayWAL(dir string, gen uint64, fn func(end int64, host string, samples []byte)) (int64, error) {
	b, err := os.ReadFile(walPath(dir, gen))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read write-ahead log: %w", err)
	}
	var off int64
	for len(b) >= 8 {
		n := binary.LittleEndian.Uint32(b)
		sum := binary.LittleEndian.Uint32(b[4:])
		if uint64(n) > uint64(len(b)-8) {
			break // torn tail
		}
		payload := b[8 : 8+n]
		if crc32.Checksum(payload, castagnoli) != sum {
			break
		}
		end := off + 8 + int64(n)
		r := reader{b: payload}
		for len(r.b) > 0 && r.err == nil {
			host := r.str()
			n := r.uvarint()
			if n > uint64(len(r.b)) {
				r.fail()
				break
			}
			fn(end, host, r.b[:n])
			r.b = r.b[n:]
		}
		b = b[8+n:]
		off = end
	}
	return off, nil
}

// removeOldWALs deletes every generation but keep, and what a crash left
// of a generation being written.
func removeOldWALs(dir string, keep uint64) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, walPrefix) {
			continue
		}
		g, err := strconv.ParseUint(strings.TrimPrefix(name, walPrefix), 10, 64)
		if err == nil && g == keep || err != nil && !strings.HasSuffix(name, tmpSuffix) {
			continue
		}
		_ = os.Remove(filepath.Join(dir, name))
	}
}

// appendWALEntry adds a host's encoded samples to a record's payload.
func appendWALEntry(b []byte, host string, samples []byte) []byte {
	b = appendString(b, host)
	b = binary.AppendUvarint(b, uint64(len(samples)))
	return append(b, samples...)
}
