package mq

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The journal keeps the outbox's unconfirmed messages in one append-only
// file, JournalFile in the outbox directory. Each record is framed as
//
//	u32 length of the payload, little-endian
//	u32 CRC-32C of the payload
//	payload: a kind byte, then
//	  put:  uvarint id, varint queued time (Unix ns), the message's
//	        properties (key, content type, encoding, message id, type,
//	        app id, user id, correlation id, reply-to, expiration: each a
//	        uvarint length and bytes; delivery mode and priority bytes),
//	        then the body to the end of the payload;
//	  done: uvarint count, then that many uvarint ids (confirmed or dropped).
//
// A message is pending when its put has no done. Appends are the only
// writes while the file holds something pending; when nothing is, the file
// is truncated to zero; when dead records outweigh live ones, it is
// rewritten (temporary file, fsync, rename, fsync of the directory).
// Reading stops at the first record that is short, longer than the rest of
// the file or fails its CRC (a torn tail after a crash): what follows is
// ignored and the file is rewritten without it.
//
// Appends of puts are fsynced before the journal goroutine moves on, so a
// message on disk stays there through a power cut; done records are not (a
// lost one costs a duplicate on the wire, which the consumer drops).
//
// The directory is created 0700 and the file 0600 (a snapshot describes
// the host); the directory is flock'ed so that two processes never share it.
const JournalFile = "outbox.log"

const (
	recPut  = 1
	recDone = 2
	// maxRecord bounds a record's length: anything longer is damage, not a
	// snapshot (a snapshot is a few kB).
	maxRecord = 64 << 20
	// compactSlack is how many bytes of dead records the file may carry
	// beyond twice its live ones before it is rewritten.
	compactSlack = 1 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// journal is the file side; only one goroutine uses it at a time.
type journal struct {
	dir       string
	lock      *os.File // the directory, flock'ed while the process runs
	f         *os.File
	size      int64
	live      map[uint64]int64 // pending id -> its record's size
	liveBytes int64
	nextID    uint64
	buf       []byte
	// written and syncs count bytes and fsyncs since open, for the cost
	// figures; read from other goroutines.
	written, syncs atomic.Uint64
}

// stored is one pending message read back from the file.
type stored struct {
	id     uint64
	queued time.Time
	key    string
	msg    amqp.Publishing
}

// openJournal locks dir (creating it if needed), reads what an earlier
// process left and rewrites the file with only the pending messages.
// damage, when not empty, describes a tail that was ignored.
func openJournal(dir string) (j *journal, pending []stored, damage string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, "", err
	}
	lock, err := os.Open(dir)
	if err != nil {
		return nil, nil, "", err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil, "", fmt.Errorf("%s is in use by another sysmon-publisher", dir)
		}
		return nil, nil, "", fmt.Errorf("lock %s: %w", dir, err)
	}
	j = &journal{dir: dir, lock: lock, live: map[uint64]int64{}, nextID: 1}
	pending, damage, err = j.read()
	if err == nil {
		err = j.rewrite(pending)
	}
	if err != nil {
		lock.Close()
		return nil, nil, "", err
	}
	return j, pending, damage, nil
}

func (j *journal) path() string { return filepath.Join(j.dir, JournalFile) }

// read returns the pending messages of the file, oldest first.
func (j *journal) read() ([]stored, string, error) {
	f, err := os.Open(j.path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	var (
		order   []uint64
		byID    = map[uint64]stored{}
		r       = bufio.NewReaderSize(f, 64<<10)
		off     int64
		damage  string
		hdr     [8]byte
		payload []byte
	)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err != io.EOF {
				damage = "a record header is cut short"
			}
			break
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		// A damaged length must not make us allocate what is not there.
		if n == 0 || n > maxRecord || int64(n) > st.Size()-off-8 {
			damage = fmt.Sprintf("a record claims %d bytes", n)
			break
		}
		if cap(payload) < int(n) {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(r, payload); err != nil {
			damage = "a record is cut short"
			break
		}
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
			damage = "a record fails its checksum"
			break
		}
		switch payload[0] {
		case recPut:
			s, err := decodePut(payload[1:])
			if err != nil {
				damage = err.Error()
				break
			}
			if _, dup := byID[s.id]; !dup {
				order = append(order, s.id)
			}
			byID[s.id] = s
			j.nextID = max(j.nextID, s.id+1)
		case recDone:
			ids, err := decodeDone(payload[1:])
			if err != nil {
				damage = err.Error()
				break
			}
			for _, id := range ids {
				delete(byID, id)
			}
		default:
			damage = fmt.Sprintf("a record has the unknown kind %d", payload[0])
		}
		if damage != "" {
			break
		}
		off += int64(n) + 8
	}
	if damage != "" {
		damage = fmt.Sprintf("%s at byte %d: ignored the last %d bytes", damage, off, st.Size()-off)
	}
	var out []stored
	for _, id := range order {
		if s, ok := byID[id]; ok {
			out = append(out, s)
		}
	}
	return out, damage, nil
}

// rewrite replaces the file with the put records of live, atomically.
func (j *journal) rewrite(live []stored) error {
	j.buf = j.buf[:0]
	j.live = make(map[uint64]int64, len(live))
	j.liveBytes = 0
	for _, s := range live {
		start := len(j.buf)
		j.buf = appendPut(j.buf, s.id, s.queued, s.key, &s.msg)
		j.live[s.id] = int64(len(j.buf) - start)
		j.liveBytes += int64(len(j.buf) - start)
	}
	tmp := j.path() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(j.buf)
	if err == nil && len(j.buf) > 0 {
		err = f.Sync()
		j.syncs.Add(1)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, j.path())
	}
	if err == nil {
		err = j.lock.Sync() // the rename itself
		j.syncs.Add(1)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rewrite %s: %w", j.path(), err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, err = os.OpenFile(j.path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	j.size = int64(len(j.buf))
	j.written.Add(uint64(len(j.buf)))
	return nil
}

// append writes the put records of puts and a done record for the ids of
// done that are live, in one write; it fsyncs only when there are puts (a
// lost done costs a duplicate on the wire, never a loss).
func (j *journal) append(puts []stored, done []uint64) error {
	j.buf = j.buf[:0]
	for _, p := range puts {
		start := len(j.buf)
		j.buf = appendPut(j.buf, p.id, p.queued, p.key, &p.msg)
		size := int64(len(j.buf) - start)
		j.live[p.id] = size
		j.liveBytes += size
	}
	var live []uint64
	for _, id := range done {
		if size, ok := j.live[id]; ok {
			live = append(live, id)
			j.liveBytes -= size
			delete(j.live, id)
		}
	}
	if len(live) > 0 {
		j.buf = appendDone(j.buf, live)
	}
	if len(j.buf) == 0 {
		return nil
	}
	if _, err := j.f.Write(j.buf); err != nil {
		return err
	}
	j.size += int64(len(j.buf))
	j.written.Add(uint64(len(j.buf)))
	if len(puts) > 0 {
		j.syncs.Add(1)
		return j.f.Sync()
	}
	return nil
}

// tidy truncates the file when nothing is pending and tells whether the
// file has grown enough dead records to be rewritten.
func (j *journal) tidy() (compact bool, err error) {
	if len(j.live) == 0 {
		if j.size == 0 {
			return false, nil
		}
		if err := j.f.Truncate(0); err != nil {
			return false, err
		}
		j.size = 0
		j.syncs.Add(1)
		return false, j.f.Sync()
	}
	return j.size > 2*j.liveBytes+compactSlack, nil
}

func (j *journal) close() error {
	err := j.f.Close()
	j.lock.Close()
	return err
}

// abandon removes the file after a write failed, so that a later start
// does not replay what this process may still deliver.
func (j *journal) abandon() {
	j.f.Close()
	os.Remove(j.path())
	j.lock.Close()
}

func frame(b []byte, start int) []byte {
	payload := b[start+8:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, crcTable))
	return b
}

// appendPut appends one framed put record. It reads every property but
// Timestamp (the publisher sets that when it sends) and Headers (the
// publisher sets none; they are not kept).
func appendPut(b []byte, id uint64, queued time.Time, key string, m *amqp.Publishing) []byte {
	start := len(b)
	b = append(b, make([]byte, 8)...)
	b = append(b, recPut)
	b = binary.AppendUvarint(b, id)
	b = binary.AppendVarint(b, queued.UnixNano())
	for _, s := range []string{key, m.ContentType, m.ContentEncoding, m.MessageId, m.Type, m.AppId,
		m.UserId, m.CorrelationId, m.ReplyTo, m.Expiration} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = append(b, m.DeliveryMode, m.Priority)
	b = append(b, m.Body...)
	return frame(b, start)
}

func appendDone(b []byte, ids []uint64) []byte {
	start := len(b)
	b = append(b, make([]byte, 8)...)
	b = append(b, recDone)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = binary.AppendUvarint(b, id)
	}
	return frame(b, start)
}

var errBadRecord = errors.New("a record does not decode")

func decodePut(p []byte) (stored, error) {
	var s stored
	id, n := binary.Uvarint(p)
	if n <= 0 || id == 0 {
		return s, errBadRecord
	}
	p = p[n:]
	ns, n := binary.Varint(p)
	if n <= 0 {
		return s, errBadRecord
	}
	p = p[n:]
	var f [10]string
	for i := range f {
		l, n := binary.Uvarint(p)
		if n <= 0 || l > uint64(len(p)-n) {
			return s, errBadRecord
		}
		f[i] = string(p[n : n+int(l)])
		p = p[n+int(l):]
	}
	if len(p) < 2 {
		return s, errBadRecord
	}
	s.id, s.queued, s.key = id, time.Unix(0, ns), f[0]
	s.msg = amqp.Publishing{ContentType: f[1], ContentEncoding: f[2], MessageId: f[3], Type: f[4], AppId: f[5],
		UserId: f[6], CorrelationId: f[7], ReplyTo: f[8], Expiration: f[9],
		DeliveryMode: p[0], Priority: p[1], Timestamp: time.Unix(0, ns), Body: append([]byte(nil), p[2:]...)}
	return s, nil
}

func decodeDone(p []byte) ([]uint64, error) {
	count, n := binary.Uvarint(p)
	if n <= 0 || count > uint64(len(p)) {
		return nil, errBadRecord
	}
	p = p[n:]
	ids := make([]uint64, 0, count)
	for range count {
		id, n := binary.Uvarint(p)
		if n <= 0 {
			return nil, errBadRecord
		}
		ids = append(ids, id)
		p = p[n:]
	}
	return ids, nil
}
