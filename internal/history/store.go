package history

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/sysmon-dev/sysmon/internal/packed"
)

// The store: a bbolt database (history.db) and a write-ahead log (wal-N)
// in one directory.
//
// Writing one B-tree row per host and second would touch pages all over the
// tree every second; instead samples are kept in memory per host and minute
// (the head, encoded), made crash-safe by the write-ahead log that Run
// appends to every second, and sealed into the database once a minute: one
// row per host and minute of raw samples, and the minute and hour
// aggregates folded in at the same time, in one transaction.
//
// Layout: bucket "meta" (format version, WAL generation, row counts);
// buckets "raw", "1m", "1h" each hold one bucket per host, keyed by the
// row's start in unix seconds; "events" keyed by time; "latest" by host.

const (
	dbName = "history.db"

	// formatVersion is the layout this code writes; Open migrates older
	// ones (see migrate.go) and refuses newer ones.
	formatVersion = 1

	// sealGrace is how long after a minute ends its chunk stays open for
	// samples still on their way.
	sealGrace = 2 * time.Second
	// flushEvery is how often Run writes the buffered samples to the log:
	// what a SIGKILL can lose.
	flushEvery = 250 * time.Millisecond
	// maxPending bounds the samples buffered between two flushes: twice
	// 10,000 hosts at 1 Hz with room for a burst.
	maxPending = 50_000
	// maxFuture is how far ahead of the clock a sample may be.
	maxFuture = time.Minute
	// retryAfter is how long history writes pause after a write error.
	retryAfter = 30 * time.Second
	// lateSealBytes is how much of late samples brings a seal forward.
	lateSealBytes = 32 << 20
	// sealBatchBytes is about what one of a seal's transactions holds at
	// most until it commits: the rows it puts and bbolt's dirty pages,
	// reckoned as twice its chunks' bytes and sealHostBytes a host (the
	// last page of the host's bucket in each tier, rewritten). A seal of
	// 10,000 hosts at 1 Hz in one transaction held 280 MB at once.
	sealBatchBytes = 8 << 20
	sealHostBytes  = 12 << 10
	// latestEvery is how often a host's latest entry is written at most.
	latestEvery = time.Minute
	// latestBatch is how many hosts' latest entries one transaction writes.
	latestBatch = 2000
)

var (
	bMeta   = []byte("meta")
	bEvents = []byte("events")
	bLatest = []byte("latest")
	bMounts = []byte("mounts")
	bTiers  = [3][]byte{[]byte(TierRaw), []byte(TierMinute), []byte(TierHour)}

	kVersion = []byte("version")
	kWALGen  = []byte("walgen")
	kRows    = []byte("rows")
	kSealing = []byte("sealing")
)

// tier indexes, and each tier's row span in seconds.
const (
	tRaw = iota
	tMin
	tHour
)

var tierSpan = [3]int64{60, 60, 3600}

// Latest is a host's last snapshot as the fleet knew it, kept so that a
// restarted consumer shows the fleet it had.
type Latest struct {
	Host, RoutingKey string
	// Body is the message as published. SaveLatest takes it packed
	// instead (Packed, with Body nil): the fleet's own copy, shared, so
	// that 100,000 hosts' latest, held until they are written, cost no
	// memory of their own; it is unpacked as it is written (Text). The
	// store keeps the text: Latest returns Body.
	Body     []byte
	Packed   packed.JSON
	LastSeen time.Time
}

// Text is the message as published: Body, or Packed unpacked.
func (l *Latest) Text() []byte {
	if l.Body == nil {
		return l.Packed.Plain()
	}
	return l.Body
}

// Stats are the store's counters, for /api/status and /metrics.
type Stats struct {
	Bytes       int64            `json:"bytes"`        // on disk (allocated): database and write-ahead log
	Written     uint64           `json:"written"`      // samples written to the write-ahead log
	Dropped     uint64           `json:"dropped"`      // samples lost: buffer full, or writes stopped by an error
	Refused     uint64           `json:"refused"`      // samples from the future or older than the longest retention
	WriteErrors uint64           `json:"write_errors"` // failed writes
	DiskFull    bool             `json:"disk_full"`    // writes are stopped by an error (retried every 30 s)
	LastError   string           `json:"last_error,omitempty"`
	Rows        map[string]int64 `json:"rows"` // rows per tier (raw: one per host and minute)
}

type pendingSample struct {
	host string
	s    Sample
}

// Store is the history on disk. Add, AddEvent and SaveLatest only buffer;
// Run does the writing; Query, Events, Recent and Forget may be called from
// any goroutine.
type Store struct {
	dir string
	ret Retention
	log *slog.Logger
	db  *bolt.DB
	now func() time.Time
	// fault, when set (tests only), fails the named write before it is
	// attempted: the seam for a full disk.
	fault func(op string) error
	// sealBatch is sealBatchBytes (tests seal in smaller transactions).
	sealBatch int

	mu        sync.Mutex
	pend      []pendingSample
	flushing  []pendingSample // taken by flush, not yet in the head (Recent reads both)
	spare     []pendingSample
	pendEv    []Event
	forgets   []string // hosts forgotten since the last flush, for the log
	dirty     map[string]Latest
	atStart   []Latest
	closed    bool
	lastSaved time.Time

	mountMu    sync.RWMutex
	mountIDs   map[string]uint64
	mountNames []string

	// sealMu keeps Forget out of a seal, which would write back rows
	// of the host it deletes.
	sealMu sync.Mutex

	headMu sync.RWMutex
	head   map[string]map[int64][]byte // host → minute (unix s) → encoded samples
	oldest int64                       // the head's oldest minute (math.MaxInt64: empty)
	// sealedCut is the newest minute the last seal took; lateBytes counts
	// what arrived since for minutes up to it (late samples), which waits
	// for the next minute's seal unless it grows large.
	sealedCut, lateBytes int64

	// Owned by Run (and Close after it).
	rec       record
	wal       *wal
	next      *wal // the generation a seal under way will name
	gen       uint64
	failing   bool
	failKinds int
	retryAt   time.Time
	retTier   int
	retHost   []byte
	runDone   chan struct{}
	runStart  atomic.Bool

	written, dropped, refused, writeErrs atomic.Uint64
	diskFull                             atomic.Bool
	lastErr                              atomic.Pointer[string]
	rows                                 [3]atomic.Int64
}

// Open opens the store in dir, creating it or migrating an older format.
func Open(dir string, ret Retention, log *slog.Logger) (*Store, error) {
	return open(dir, ret, log, time.Now)
}

func open(dir string, ret Retention, log *slog.Logger, now func() time.Time) (*Store, error) {
	if ret.Raw <= 0 || ret.Minute <= 0 || ret.Hour <= 0 {
		return nil, fmt.Errorf("history retention must be positive: raw %v, minute %v, hour %v", ret.Raw, ret.Minute, ret.Hour)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("history directory: %w", err)
	}
	p := filepath.Join(dir, dbName)
	db, err := bolt.Open(p, 0o600, &bolt.Options{
		Timeout: 2 * time.Second, // another consumer holds it
		// Address space, not memory: growing the map stalls writers, so
		// start with room for a large fleet's first months.
		InitialMmapSize: 1 << 30,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open history store %s: locked by another process (is another sysmon-consumer using %s?)", p, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open history store %s: %w", p, err)
	}
	s := &Store{
		dir: dir, ret: ret, log: log, db: db, now: now, sealBatch: sealBatchBytes,
		dirty:  map[string]Latest{},
		head:   map[string]map[int64][]byte{},
		oldest: math.MaxInt64,

		mountIDs: map[string]uint64{},
		runDone:  make(chan struct{}),
	}
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// load migrates the layout, reads the counters and the latest entries, and
// replays the write-ahead log.
func (s *Store) load() error {
	if err := migrate(s.db, s.dir); err != nil {
		return err
	}
	var marks []sealMark
	err := s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		s.gen = uint64(keyTime(m.Get(kWALGen)))
		marks = decodeSealing(m.Get(kSealing), s.gen)
		if err := s.loadMounts(tx); err != nil {
			return err
		}
		if r := m.Get(kRows); len(r) == 24 {
			for i := range s.rows {
				s.rows[i].Store(keyTime(r[8*i:]))
			}
		}
		return tx.Bucket(bLatest).ForEach(func(k, v []byte) error {
			l, err := decodeLatest(k, v)
			if err != nil {
				s.log.Warn("history: a latest entry is unreadable, skipped", "host", string(k), "err", err)
				return nil
			}
			s.atStart = append(s.atStart, l)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("read history store: %w", err)
	}
	n, skipped := 0, 0
	valid, err := replayWAL(s.dir, s.gen, func(end int64, host string, b []byte) {
		if len(b) == 0 { // Forget's mark
			delete(s.head, host)
			return
		}
		r := reader{b: b}
		for len(r.b) > 0 && r.err == nil {
			start := len(b) - len(r.b)
			smp := r.sample(0)
			if r.err != nil {
				break
			}
			if sealedBy(marks, end, host, smp.T) {
				skipped++
				continue
			}
			s.toHead(host, smp.T, b[start:len(b)-len(r.b)])
			n++
		}
	})
	if err != nil {
		return err
	}
	if marks != nil {
		// A seal was cut short after some of its transactions: what they
		// sealed is left out of the head above; a new generation without
		// it ends the marks, whose offsets a new tail of this log could
		// otherwise reach.
		if err := s.restartGeneration(); err != nil {
			s.log.Warn("history: could not end an interrupted seal, carrying on with its log", "err", err, "dir", s.dir)
		}
	}
	if s.wal == nil {
		if s.wal, err = openWAL(s.dir, s.gen, valid); err != nil {
			return err
		}
	}
	removeOldWALs(s.dir, s.gen)
	if n > 0 || skipped > 0 {
		s.log.Info("history: replayed the write-ahead log", "samples", n, "already_sealed", skipped, "dir", s.dir)
	}
	return nil
}

// restartGeneration writes the head to a new log generation and names it,
// with no seal marks: at Open after a seal was cut short, and when a write
// to the current generation failed (mendLog). A new generation rather than
// the current one written anew: the marks' offsets are into the current one.
func (s *Store) restartGeneration() error {
	err := s.check("wal")
	var w *wal
	if err == nil {
		w, err = createWAL(s.dir, s.gen+1, s.headLog())
	}
	if err != nil {
		return err
	}
	err = s.check("commit")
	if err == nil {
		err = s.db.Update(func(tx *bolt.Tx) error {
			m := tx.Bucket(bMeta)
			if err := m.Put(kWALGen, timeKey(int64(s.gen+1))); err != nil {
				return err
			}
			return m.Delete(kSealing)
		})
	}
	if err != nil {
		w.close()
		_ = os.Remove(walPath(s.dir, s.gen+1))
		return err
	}
	if s.wal != nil {
		s.wal.close()
		_ = os.Remove(walPath(s.dir, s.gen))
	}
	s.wal, s.gen = w, s.gen+1
	return nil
}

// mendLog starts a new generation when a write to the current one failed
// (a flush while a seal ran, a record that could not be cut off): the log
// misses a record, and a restart replays nothing behind the gap. While a
// seal runs it waits for the seal, which may switch generations itself.
// Run's goroutine calls it, and alone writes the log.
func (s *Store) mendLog() error {
	if s.wal == nil || !s.wal.broken || s.next != nil {
		return nil
	}
	return s.restartGeneration()
}

// A seal's transactions each take a batch of hosts, in the order of their
// names, and all but the last leave a mark in meta ("sealing"): the log
// generation they seal from, and per seal the log's length when it began,
// its cut and the last host sealed so far. Open leaves out of the head what
// the marks say is sealed; the last transaction names the next generation
// and deletes the marks. Marks of a seal that failed half way stay (the
// samples it sealed stay in that generation's log) until a seal completes.
type sealMark struct {
	off, cut int64 // records ending at or before off; minutes up to cut
	host     string
}

// sealedBy reports whether marks say that host's sample at t, in the
// record ending at end, is sealed.
func sealedBy(marks []sealMark, end int64, host string, t time.Time) bool {
	for _, m := range marks {
		if end <= m.off && host <= m.host && minuteOf(t) <= m.cut {
			return true
		}
	}
	return false
}

// addMark adds m to marks, less the marks it covers: its own earlier
// batches', and those of earlier seals cut short that it has passed, so
// that seals failing again and again leave a few marks, not one each.
func addMark(marks []sealMark, m sealMark) []sealMark {
	marks = slices.DeleteFunc(marks, func(o sealMark) bool {
		return o.off <= m.off && o.cut <= m.cut && o.host <= m.host
	})
	return append(marks, m)
}

// decodeSealing reads the marks, if they are generation gen's.
func decodeSealing(v []byte, gen uint64) []sealMark {
	if len(v) < 8 || uint64(keyTime(v)) != gen {
		return nil
	}
	var marks []sealMark
	r := reader{b: v[8:]}
	for len(r.b) > 0 && r.err == nil {
		m := sealMark{off: r.varint(), cut: r.varint(), host: r.str()}
		if r.err == nil {
			marks = append(marks, m)
		}
	}
	return marks
}

func appendSealing(gen uint64, marks []sealMark) []byte {
	b := timeKey(int64(gen))
	for _, m := range marks {
		b = binary.AppendVarint(b, m.off)
		b = binary.AppendVarint(b, m.cut)
		b = appendString(b, m.host)
	}
	return b
}

// toHead files an encoded sample in its host's chunk for its minute.
// The caller holds headMu (or is alone, in Open).
func (s *Store) toHead(host string, t time.Time, enc []byte) {
	h := s.head[host]
	if h == nil {
		h = map[int64][]byte{}
		s.head[host] = h
	}
	m := minuteOf(t)
	h[m] = append(h[m], enc...)
	s.oldest = min(s.oldest, m)
	if m <= s.sealedCut {
		s.lateBytes += int64(len(enc))
	}
}

func minuteOf(t time.Time) int64 { u := t.Unix(); return u - mod(u, 60) }
func hourOf(u int64) int64       { return u - mod(u, 3600) }
func mod(a, b int64) int64       { return ((a % b) + b) % b }

// Add buffers one sample of host for Run to write. It never blocks and
// never does I/O; a full buffer drops the sample (counted). The store keeps
// smp's slices: the caller must not change them afterwards.
func (s *Store) Add(host string, smp Sample) {
	s.mu.Lock()
	if len(s.pend) >= maxPending || s.closed {
		s.mu.Unlock()
		s.dropped.Add(1)
		return
	}
	s.pend = append(s.pend, pendingSample{host, smp})
	s.mu.Unlock()
}

// AddEvent buffers an event for Run to write.
func (s *Store) AddEvent(e Event) {
	s.mu.Lock()
	if len(s.pendEv) < maxPending && !s.closed {
		s.pendEv = append(s.pendEv, e)
	}
	s.mu.Unlock()
}

// SaveLatest records host's latest entry; Run writes it at most once a
// minute, Close at the end.
func (s *Store) SaveLatest(host string, l Latest) {
	l.Host = host
	s.mu.Lock()
	if !s.closed {
		s.dirty[host] = l
	}
	s.mu.Unlock()
}

// Latest returns the entries saved before the store was opened, once: the
// store lets go of them (10,000 hosts' snapshots are 20 MB).
func (s *Store) Latest() []Latest {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.atStart
	s.atStart = nil
	return l
}

// Run writes the buffered samples to the log every flushEvery (a process
// killed loses at most that much) and makes them durable every second,
// seals each minute into the database, writes the latest entries once a
// minute and removes what is past its retention in small steps. When ctx
// ends it writes what is buffered and returns nil.
func (s *Store) Run(ctx context.Context) error {
	if !s.runStart.CompareAndSwap(false, true) {
		return errors.New("history: Run called twice")
	}
	defer close(s.runDone)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	fast := time.NewTicker(flushEvery)
	defer fast.Stop()
	return s.loop(ctx, tick.C, fast.C, nil)
}

// loop is Run's body; tests drive it with their own ticks (fast may be
// nil), and stepped (if set) is called after each tick's work.
func (s *Store) loop(ctx context.Context, tick, fast <-chan time.Time, stepped func()) error {
	done := make(chan error, 1)
	var job *sealJob
	for {
		select {
		case <-ctx.Done():
			if job != nil {
				s.finishSeal(job, <-done)
			}
			s.flush(s.now(), true)
			return nil
		case err := <-done:
			s.finishSeal(job, err)
			job = nil
		case <-fast:
			// Written, not synced: the page cache outlives a killed
			// process; the second's tick makes it durable.
			s.write(s.now(), false, false)
			if stepped != nil {
				stepped()
			}
		case <-tick:
			now := s.now()
			s.flush(now, job == nil)
			if job == nil {
				if job = s.prepareSeal(now, false); job != nil {
					go func(j *sealJob) { done <- s.commitSeal(j) }(job)
				}
			}
			// The database takes one writer at a time: these wait for
			// the seal's end rather than Run.
			if job == nil {
				s.housekeeping(now)
			}
			if stepped != nil {
				stepped()
			}
		}
	}
}

// step is one second of Run's work, all of it in the calling goroutine.
func (s *Store) step(now time.Time) {
	s.flush(now, true)
	s.seal(now, false)
	s.housekeeping(now)
}

// housekeeping writes the latest entries once a minute and removes a
// little of what is past its retention; once a minute too it lets go of the
// database pages read meanwhile (dropMapped; a seal does after its own).
func (s *Store) housekeeping(now time.Time) {
	minute := now.Sub(s.lastSaved) >= latestEvery
	// At a retry after the database failed, the latest entries go at once:
	// a real write that shows whether it takes writes again, rather than
	// waiting up to a minute for the next seal.
	retry := s.failing && s.failKinds&failDB != 0 && !now.Before(s.retryAt)
	if minute || retry {
		s.lastSaved = now
		s.saveLatest(now)
	}
	s.retain(now)
	if minute {
		s.dropMapped()
	}
}

// Close writes what is buffered and the latest entries and closes the
// store. Call it after Run has returned (or if Run was never called).
func (s *Store) Close() error {
	if s.runStart.Load() {
		<-s.runDone
	}
	s.flush(s.now(), true)
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.saveLatest(s.now())
	var errs []error
	if s.wal != nil {
		errs = append(errs, s.wal.close())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// check runs the test seam.
func (s *Store) check(op string) error {
	if s.fault != nil {
		return s.fault(op)
	}
	return nil
}

// What failed: the write-ahead log, or the database. A failure is over
// when the same kind of write succeeds again (a seal does both), so that a
// database that fails while the log still takes writes does not flap
// between "failed" and "resumed" every 30 s.
const (
	failLog = 1 << iota
	failDB
)

// writeFailed stops history writes for retryAfter, logs the first failure
// of a run of them, and counts.
func (s *Store) writeFailed(now time.Time, kind int, err error) {
	s.writeErrs.Add(1)
	msg := err.Error()
	s.lastErr.Store(&msg)
	s.retryAt = now.Add(retryAfter)
	s.failKinds |= kind
	if !s.failing {
		s.failing = true
		s.diskFull.Store(true)
		s.log.Error("history: writing failed, history writes stopped (retried every 30 s; the live dashboard goes on)",
			"err", err, "dir", s.dir)
	}
}

// writeOK ends a failure of the kinds that just succeeded.
func (s *Store) writeOK(kinds int) {
	if !s.failing {
		return
	}
	s.failKinds &^= kinds
	if s.failKinds == 0 {
		s.failing = false
		s.diskFull.Store(false)
		s.log.Info("history: writes resumed", "dir", s.dir)
	}
}

// flush writes the buffered samples to the write-ahead log, synced, and the
// head, and the buffered events to the database (unless dbFree is false: a
// seal is writing, and the events wait for the next flush).
func (s *Store) flush(now time.Time, dbFree bool) { s.write(now, dbFree, true) }

// write is flush, with the log synced only if sync is set.
func (s *Store) write(now time.Time, dbFree, sync bool) {
	s.mu.Lock()
	pend, evs := s.pend, s.pendEv
	s.pend, s.spare, s.flushing = s.spare[:0], nil, pend
	forgets := s.forgets
	s.forgets = nil
	if dbFree {
		s.pendEv = nil
	} else {
		evs = nil
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.flushing = nil // in the head now, or dropped
		clear(pend)      // let go of the samples' slices
		if s.spare == nil {
			s.spare = pend[:0]
		}
		s.mu.Unlock()
	}()
	if len(pend) == 0 && len(evs) == 0 && len(forgets) == 0 {
		if sync {
			// What the quarter-second writes left unsynced: the fast
			// tick may have taken this second's samples already.
			s.syncLog(now)
		}
		return
	}
	if s.failing && now.Before(s.retryAt) {
		s.dropped.Add(uint64(len(pend)))
		s.requeueForgets(forgets)
		return
	}
	// Forget's marks first: a restart must not bring back what the log
	// holds of a forgotten host.
	payload := s.rec.payload[:0]
	for _, h := range forgets {
		payload = appendWALEntry(payload, h, nil)
	}
	payload, ents := s.rec.encode(payload, pend, now.Add(-s.longest()), now.Add(maxFuture), &s.refused)
	defer s.rec.done(payload, ents)
	if len(ents) > 0 || len(forgets) > 0 {
		err := s.mendLog()
		if err == nil {
			err = s.check("wal")
		}
		if err == nil {
			err = s.wal.append(payload)
		}
		if err == nil && sync {
			err = s.wal.sync()
		}
		if err == nil && s.next != nil && !s.next.broken {
			// A seal is under way: its generation must have this too.
			nerr := s.next.append(payload)
			if nerr == nil && sync {
				nerr = s.next.sync()
			}
			if nerr != nil {
				s.next.broken = true // finishSeal writes it anew
			}
		}
		if err != nil {
			s.writeFailed(now, failLog, err)
			s.dropped.Add(uint64(len(ents)))
			s.requeueForgets(forgets)
			return
		}
		s.writeOK(failLog)
		s.headMu.Lock()
		for _, e := range ents {
			s.toHead(e.host, e.t, payload[e.start:e.end])
		}
		s.headMu.Unlock()
		s.written.Add(uint64(len(ents)))
	}
	if len(evs) > 0 {
		err := s.check("events")
		if err == nil {
			err = s.db.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket(bEvents)
				for _, e := range evs {
					seq, _ := b.NextSequence()
					if err := b.Put(eventKey(e.T, seq), appendEvent(nil, e)); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err != nil {
			s.writeFailed(now, failDB, fmt.Errorf("write events: %w", err))
		} else {
			s.writeOK(failDB)
		}
	}
}

// record is a flush's log record in the making: its buffers are kept
// from one flush to the next, so that writing a second of 10,000 hosts'
// samples leaves no garbage behind (it left about twice the record: a
// buffer per host, the record grown by doubling, a copy to write).
type record struct {
	payload []byte
	order   []int32 // pend's samples by host
	ents    []recEntry
	samples []byte // one host's
}

// recEntry is a sample of the record: its host, time and bytes.
type recEntry struct {
	host       string
	t          time.Time
	start, end int
}

// encode appends pend's samples to payload, grouped by host (the log then
// holds each host's second once), but those outside [oldest, future],
// which it counts in refused; ents says where each sample is. pend is not
// reordered: Recent reads it meanwhile.
func (r *record) encode(payload []byte, pend []pendingSample, oldest, future time.Time, refused *atomic.Uint64) ([]byte, []recEntry) {
	order := r.order[:0]
	for i := range pend {
		if t := pend[i].s.T; t.After(future) || t.Before(oldest) {
			refused.Add(1)
			continue
		}
		order = append(order, int32(i))
	}
	slices.SortStableFunc(order, func(a, b int32) int { return strings.Compare(pend[a].host, pend[b].host) })
	ents := r.ents[:0]
	for k := 0; k < len(order); {
		host := pend[order[k]].host
		smps, first := r.samples[:0], len(ents)
		for ; k < len(order) && pend[order[k]].host == host; k++ {
			p := &pend[order[k]]
			start := len(smps)
			smps = appendSample(smps, &p.s, 0)
			ents = append(ents, recEntry{host, p.s.T, start, len(smps)})
		}
		payload = appendWALEntry(payload, host, smps)
		base := len(payload) - len(smps)
		for e := first; e < len(ents); e++ {
			ents[e].start += base
			ents[e].end += base
		}
		r.samples = smps
	}
	r.order = order
	return payload, ents
}

// done keeps the buffers for the next flush, less what they point to.
func (r *record) done(payload []byte, ents []recEntry) {
	clear(ents)
	r.payload, r.ents, r.order, r.samples = keepBuf(payload), keepBuf(ents), keepBuf(r.order), keepBuf(r.samples)
}

// syncLog syncs what was written to the log (and to a seal's next
// generation) without a sync since.
func (s *Store) syncLog(now time.Time) {
	if s.wal != nil && s.wal.dirty {
		if err := s.wal.sync(); err != nil {
			s.writeFailed(now, failLog, err)
		}
	}
	if s.next != nil && !s.next.broken && s.next.dirty {
		if err := s.next.sync(); err != nil {
			s.next.broken = true // finishSeal writes it anew
		}
	}
}

func (s *Store) requeueForgets(hosts []string) {
	if len(hosts) > 0 {
		s.mu.Lock()
		s.forgets = append(hosts, s.forgets...)
		s.mu.Unlock()
	}
}

func (s *Store) longest() time.Duration { return max(s.ret.Raw, s.ret.Minute, s.ret.Hour) }

// covers reports whether tier t keeps a row starting at unix second u.
func (s *Store) covers(t int, u int64, now time.Time) bool {
	r := [3]time.Duration{s.ret.Raw, s.ret.Minute, s.ret.Hour}[t]
	return u+tierSpan[t] > now.Add(-r).Unix()
}

// A seal moves every chunk whose minute has ended (all of them when all is
// set) from the head into the database. The chunks still open go to a new
// write-ahead log generation first, and the transaction names it, so that
// a crash at any point replays each sample exactly once.
//
// In Run the transaction (a second or two of one core at 10,000 hosts)
// runs in a goroutine of its own, so that Run goes on writing every
// second meanwhile: each flush then goes to both generations, and a chunk
// that grew meanwhile (a late sample) keeps what it gained.
type sealJob struct {
	now    time.Time
	gen    uint64 // the generation the last transaction names
	next   *wal
	chunks []chunk // by host, then minute
	mark   sealMark
	// done counts the chunks committed (commitSeal's goroutine writes it,
	// finishSeal reads it after).
	done int
}

type chunk struct {
	host string
	min  int64
	b    []byte // as it was when the seal began
}

// prepareSeal takes the chunks to seal and writes the new log generation;
// it returns nil when there is nothing to seal or writes are stopped.
// sealMu is held from here until the job is finished.
//
// A seal runs once a minute, when a minute has ended; late samples for
// minutes already sealed wait for the next one (each seal rewrites the
// open head to a new log generation: sealing every second while an
// outbox drains would rewrite it every second), unless they pile up past
// lateSealBytes.
func (s *Store) prepareSeal(now time.Time, all bool) *sealJob {
	cut := now.Add(-sealGrace - time.Minute).Unix()
	cutMin := cut - mod(cut, 60)
	s.headMu.RLock()
	due := all || s.oldest <= cut && (cutMin > s.sealedCut || s.lateBytes >= lateSealBytes)
	s.headMu.RUnlock()
	if !due || s.failing && now.Before(s.retryAt) {
		return nil
	}
	s.sealMu.Lock()
	var sealed []chunk
	var keep []byte
	s.headMu.Lock()
	s.sealedCut, s.lateBytes = max(s.sealedCut, cutMin), 0
	s.headMu.Unlock()
	s.headMu.RLock()
	for h, mins := range s.head {
		var rest []byte
		for m, b := range mins {
			if all || m <= cut {
				sealed = append(sealed, chunk{h, m, b})
			} else {
				rest = append(rest, b...)
			}
		}
		if rest != nil {
			keep = appendWALEntry(keep, h, rest)
		}
	}
	s.headMu.RUnlock()
	if len(sealed) == 0 { // what was oldest has been forgotten
		s.sealMu.Unlock()
		s.resetOldest()
		return nil
	}
	// In key order: bbolt splits a node only when it commits, so a
	// transaction that adds 100,000 hosts' buckets in the head's (random)
	// order moves half of one ever-growing node at each insertion, O(n²);
	// in order, each insertion appends. And a batch of the seal takes whole
	// hosts, and its mark says "up to this host".
	slices.SortFunc(sealed, func(a, b chunk) int {
		if c := strings.Compare(a.host, b.host); c != 0 {
			return c
		}
		return cmp.Compare(a.min, b.min)
	})
	mark := sealMark{off: s.wal.size, cut: cut}
	if all {
		mark.cut = math.MaxInt64
	}
	err := s.check("seal")
	var next *wal
	if err == nil {
		next, err = createWAL(s.dir, s.gen+1, keep)
	}
	if err != nil {
		s.sealMu.Unlock()
		s.writeFailed(now, failLog, fmt.Errorf("seal history: %w", err))
		return nil
	}
	s.next = next
	return &sealJob{now: now, gen: s.gen + 1, next: next, chunks: sealed, mark: mark}
}

// commitSeal is the seal's transactions, one per batch of hosts of about
// sealBatch bytes (sealBatchBytes); it may run in any goroutine.
func (s *Store) commitSeal(j *sealJob) error {
	for j.done < len(j.chunks) {
		end, size := j.done, 0
		for end < len(j.chunks) && (end == j.done || size < s.sealBatch || j.chunks[end].host == j.chunks[end-1].host) {
			size += 2*len(j.chunks[end].b) + sealHostBytes
			end++
		}
		last := end == len(j.chunks)
		if err := s.commitBatch(j, j.chunks[j.done:end], last); err != nil {
			return err
		}
		j.done = end
		if !last {
			s.dropMapped() // what this batch read of its hosts' rows (finishSeal after the last)
		}
	}
	return nil
}

// commitBatch is one transaction of a seal: its chunks, and the mark that
// says so, or (the last) the next generation's name.
func (s *Store) commitBatch(j *sealJob, chunks []chunk, last bool) error {
	err := s.check("commit")
	if err != nil {
		return err
	}
	mt := s.mountTx()
	err = s.db.Update(func(tx *bolt.Tx) error {
		mt.b = tx.Bucket(bMounts)
		var added [3]int64
		for _, c := range chunks {
			if err := s.sealChunk(tx, mt, c.host, c.min, c.b, j.now, &added); err != nil {
				return fmt.Errorf("seal %s at %d: %w", c.host, c.min, err)
			}
		}
		if mt.err != nil {
			return mt.err
		}
		meta := tx.Bucket(bMeta)
		if last {
			if err := meta.Put(kWALGen, timeKey(int64(j.gen))); err != nil {
				return err
			}
			if err := meta.Delete(kSealing); err != nil {
				return err
			}
		} else {
			m := j.mark
			m.host = chunks[len(chunks)-1].host
			marks := addMark(decodeSealing(meta.Get(kSealing), j.gen-1), m)
			if err := meta.Put(kSealing, appendSealing(j.gen-1, marks)); err != nil {
				return err
			}
		}
		return s.putRows(meta, added)
	})
	if err == nil {
		s.mountsCommitted(mt)
	}
	return err
}

// finishSeal switches to the new generation (or drops it, if a
// transaction failed) and takes the sealed samples out of the head.
func (s *Store) finishSeal(j *sealJob, err error) {
	defer s.sealMu.Unlock()
	s.next = nil
	if err != nil {
		j.next.close()
		_ = os.Remove(walPath(s.dir, j.gen))
		s.writeFailed(j.now, failDB, fmt.Errorf("seal history: %w", err))
		// The batches that went through are sealed, and marked so in
		// meta for a restart: out of the head with them.
		s.dropSealed(j.chunks[:j.done])
		return
	}
	// Every transaction went through: the database names j.gen now,
	// whatever happens to its log below.
	s.wal.close()
	_ = os.Remove(walPath(s.dir, s.gen))
	s.wal, s.gen = j.next, j.gen
	s.dropSealed(j.chunks)
	s.dropMapped() // the seal read every host's newest rows
	kinds := failLog | failDB
	if err := s.mendLog(); err != nil {
		s.writeFailed(j.now, failLog, fmt.Errorf("seal history: %w", err))
		kinds = failDB
	}
	s.writeOK(kinds)
}

// dropSealed takes sealed chunks out of the head.
func (s *Store) dropSealed(chunks []chunk) {
	s.headMu.Lock()
	for _, c := range chunks {
		mins := s.head[c.host]
		if mins == nil {
			continue // forgotten meanwhile
		}
		if cur := mins[c.min]; len(cur) > len(c.b) {
			mins[c.min] = cur[len(c.b):] // grew meanwhile: keep the new part
		} else {
			delete(mins, c.min)
		}
		if len(mins) == 0 {
			delete(s.head, c.host)
		}
	}
	s.headMu.Unlock()
	s.resetOldest()
}

// headLog is the head as write-ahead log entries, one a host.
func (s *Store) headLog() []byte {
	var log []byte
	s.headMu.RLock()
	defer s.headMu.RUnlock()
	for h, mins := range s.head {
		var rest []byte
		for _, b := range mins {
			rest = append(rest, b...)
		}
		if len(rest) > 0 { // an empty entry would be Forget's mark
			log = appendWALEntry(log, h, rest)
		}
	}
	return log
}

func (s *Store) resetOldest() {
	s.headMu.Lock()
	s.oldest = math.MaxInt64
	for _, mins := range s.head {
		for m := range mins {
			s.oldest = min(s.oldest, m)
		}
	}
	s.headMu.Unlock()
}

// seal does a whole seal in the calling goroutine.
func (s *Store) seal(now time.Time, all bool) {
	if j := s.prepareSeal(now, all); j != nil {
		s.finishSeal(j, s.commitSeal(j))
	}
}

// putRows adds the row count changes to meta and sets the counters to
// what meta now says (if the commit then fails, the counters are off
// until the next transaction that changes rows reads meta again).
func (s *Store) putRows(meta *bolt.Bucket, added [3]int64) error {
	var cur [3]int64
	if r := meta.Get(kRows); len(r) == 24 {
		for i := range cur {
			cur[i] = keyTime(r[8*i:])
		}
	}
	var b []byte
	for i := range cur {
		cur[i] += added[i]
		b = append(b, timeKey(cur[i])...)
	}
	for i := range cur {
		s.rows[i].Store(cur[i])
	}
	return meta.Put(kRows, b)
}

// sealChunk files one host's samples of one minute in every tier that
// covers them. A sample whose time is already in the raw row is a
// duplicate (a redelivery) and is skipped, in the aggregates too.
//
// What it allocates is held until the transaction commits only if bbolt
// keeps it (the rows it puts); the rest is garbage the collector has to
// keep up with while the seal runs for every host, so the common case
// allocates nothing but the row: a minute no raw row has yet (a new minute
// is a new key) with its samples in time order is read one sample at a
// time into one Sample for the aggregates and copied into the row as it
// is encoded, its times rebased (rebaseChunk).
func (s *Store) sealChunk(tx *bolt.Tx, mt *mountTx, host string, minute int64, enc []byte, now time.Time, added *[3]int64) error {
	if len(enc) == 0 {
		return nil
	}
	key := timeKey(minute)
	raw := s.covers(tRaw, minute, now)
	var hb *bolt.Bucket
	var oldRow []byte
	if raw {
		var err error
		if hb, err = hostBucket(tx, tRaw, host); err != nil {
			return err
		}
		oldRow = hb.Get(key)
	}
	var g agg
	row, inOrder, err := rebaseChunk(enc, minute*1000, &g, raw)
	if err != nil {
		return err
	}
	switch {
	case !raw: // aggregates only: every sample counts, as before
	case oldRow == nil && inOrder:
		added[tRaw]++
		if err := hb.Put(key, row); err != nil {
			return err
		}
	default:
		g = agg{}
		fresh, err := s.mergeRaw(hb, key, oldRow, enc, minute, added)
		if err != nil || len(fresh) == 0 {
			return err
		}
		for i := range fresh {
			g.add(&fresh[i])
		}
	}
	if s.covers(tMin, minute, now) {
		if err := s.mergeAgg(tx, mt, tMin, host, minute, &g, added); err != nil {
			return err
		}
	}
	if s.covers(tHour, hourOf(minute), now) {
		if err := s.mergeAgg(tx, mt, tHour, host, hourOf(minute), &g, added); err != nil {
			return err
		}
	}
	return nil
}

// rebaseChunk folds a head chunk's samples (times after 0) into g, one at
// a time, and when row is set copies them into a raw row (times after
// base). inOrder is false when the samples are not in strictly increasing
// time order (late samples, redeliveries): the row is then to be merged
// by mergeRaw.
func rebaseChunk(enc []byte, base int64, g *agg, row bool) (out []byte, inOrder bool, err error) {
	if row {
		out = make([]byte, 0, len(enc)) // a rebased time is shorter
	}
	r := reader{b: enc}
	var x Sample
	last := int64(math.MinInt64)
	inOrder = true
	for len(r.b) > 0 {
		start := r.b
		r.sampleInto(0, &x)
		if r.err != nil {
			return nil, false, r.err
		}
		g.add(&x)
		ms := x.T.UnixMilli()
		inOrder = inOrder && ms > last
		last = ms
		if row && inOrder {
			_, n := binary.Varint(start)
			out = binary.AppendVarint(out, ms-base)
			out = append(out, start[n:len(start)-len(r.b)]...)
		}
	}
	return out, inOrder, nil
}

// mergeRaw merges a chunk into its minute's raw row (oldRow, nil if none
// yet): the samples sorted by time, those already in the row left out.
// It returns the samples it added.
func (s *Store) mergeRaw(hb *bolt.Bucket, key, oldRow, enc []byte, minute int64, added *[3]int64) ([]Sample, error) {
	smps, err := decodeChunk(enc, 0, nil)
	if err != nil {
		return nil, err
	}
	old, err := decodeChunk(oldRow, minute*1000, nil)
	if err != nil {
		return nil, fmt.Errorf("raw row: %w", err)
	}
	if len(old) == 0 {
		added[tRaw]++
	}
	seen := make(map[int64]bool, len(old)+len(smps))
	for _, o := range old {
		seen[o.T.UnixMilli()] = true
	}
	fresh := smps[:0]
	for _, x := range smps {
		if !seen[x.T.UnixMilli()] {
			seen[x.T.UnixMilli()] = true
			fresh = append(fresh, x)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	all := append(old, fresh...)
	slices.SortStableFunc(all, func(a, b Sample) int { return a.T.Compare(b.T) })
	b := make([]byte, 0, len(oldRow)+len(enc))
	for i := range all {
		b = appendSample(b, &all[i], minute*1000)
	}
	return fresh, hb.Put(key, b)
}

func (s *Store) mergeAgg(tx *bolt.Tx, mt *mountTx, tier int, host string, start int64, g *agg, added *[3]int64) error {
	hb, err := hostBucket(tx, tier, host)
	if err != nil {
		return err
	}
	key := timeKey(start)
	cur := *g
	if v := hb.Get(key); v != nil {
		old, err := decodeAgg(v, mt.name)
		if err != nil {
			return fmt.Errorf("%s row: %w", bTiers[tier], err)
		}
		old.merge(g)
		cur = old
	} else {
		added[tier]++
	}
	return hb.Put(key, appendAgg(nil, &cur, mt.id))
}

// hostBucket returns host's bucket in tier, created if need be, filled to
// the brim: rows arrive in time order, so a page left behind by a split
// gets no more rows and had better be full (3.65 MiB per host for a year
// instead of 3.92 at bbolt's default for appends, 0.95).
func hostBucket(tx *bolt.Tx, tier int, host string) (*bolt.Bucket, error) {
	hb, err := tx.Bucket(bTiers[tier]).CreateBucketIfNotExists([]byte(host))
	if err != nil {
		return nil, err
	}
	hb.FillPercent = 1.0
	return hb, nil
}

// saveLatest writes the latest entries saved since the last time.
func (s *Store) saveLatest(now time.Time) {
	s.mu.Lock()
	d := s.dirty
	s.dirty = map[string]Latest{}
	s.mu.Unlock()
	if len(d) == 0 {
		return
	}
	// In key order, as a seal's chunks (prepareSeal), and latestBatch
	// hosts a transaction: a transaction holds every page it writes until
	// it commits (100,000 hosts' 2 KB snapshots: 220 MB at once), and
	// each entry stands alone (a crash between two leaves each host's
	// entry of this minute or of the one before).
	hosts := slices.Sorted(maps.Keys(d))
	err := s.check("latest")
	for len(hosts) > 0 && err == nil {
		batch := hosts[:min(len(hosts), latestBatch)]
		err = s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bLatest)
			for _, h := range batch {
				if err := b.Put([]byte(h), appendLatest(nil, d[h])); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			hosts = hosts[len(batch):]
		}
	}
	if err == nil {
		s.writeOK(failDB)
		return
	}
	s.writeFailed(now, failDB, fmt.Errorf("write latest entries: %w", err))
	s.mu.Lock()
	for _, h := range hosts {
		if _, newer := s.dirty[h]; !newer {
			s.dirty[h] = d[h]
		}
	}
	s.mu.Unlock()
}

// Forget deletes host's history, events and latest entry. The write-ahead
// log gets a mark at the next flush, so that a restart does not bring back
// the host's last minute.
func (s *Store) Forget(host string) {
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	s.mu.Lock()
	s.pend = slices.DeleteFunc(s.pend, func(p pendingSample) bool { return p.host == host })
	delete(s.dirty, host)
	s.forgets = append(s.forgets, host)
	s.mu.Unlock()
	s.headMu.Lock()
	delete(s.head, host)
	s.headMu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		var added [3]int64
		for t := range bTiers {
			tb := tx.Bucket(bTiers[t])
			if hb := tb.Bucket([]byte(host)); hb != nil {
				added[t] -= int64(hb.Stats().KeyN)
				if err := tb.DeleteBucket([]byte(host)); err != nil {
					return err
				}
			}
		}
		if err := tx.Bucket(bLatest).Delete([]byte(host)); err != nil {
			return err
		}
		ev := tx.Bucket(bEvents)
		var del [][]byte
		_ = ev.ForEach(func(k, v []byte) error {
			if e, err := decodeEvent(k, v); err == nil && e.Host == host {
				del = append(del, slices.Clone(k))
			}
			return nil
		})
		for _, k := range del {
			if err := ev.Delete(k); err != nil {
				return err
			}
		}
		return s.putRows(tx.Bucket(bMeta), added)
	})
	if err != nil {
		s.log.Error("history: forget host", "host", host, "err", err)
	}
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := Stats{
		Written:     s.written.Load(),
		Dropped:     s.dropped.Load(),
		Refused:     s.refused.Load(),
		WriteErrors: s.writeErrs.Load(),
		DiskFull:    s.diskFull.Load(),
		Rows:        map[string]int64{},
	}
	if e := s.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	for i, t := range bTiers {
		st.Rows[string(t)] = s.rows[i].Load()
	}
	st.Bytes = diskUsage(s.dir)
	return st
}

// diskUsage is what the store's files take on disk: allocated blocks, not
// their length (bbolt grows its file ahead, sparsely).
func diskUsage(dir string) int64 {
	var n int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += fi.Size()
		}
	}
	return n
}
