package mq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ErrDropped is the result of an item pushed out of a full outbox.
var ErrDropped = errors.New("dropped from a full outbox")

// Item is one message waiting for the broker's confirm.
type Item struct {
	Key    string // routing key
	Msg    amqp.Publishing
	done   chan error
	once   sync.Once
	queued time.Time
	jid    uint64 // its record in the journal; 0: not written
}

// NewItem wraps a message; Done reports its fate once.
func NewItem(key string, msg amqp.Publishing) *Item {
	return &Item{Key: key, Msg: msg, done: make(chan error, 1), queued: time.Now()}
}

// Done delivers nil once the broker confirmed the message, or ErrDropped.
func (it *Item) Done() <-chan error { return it.done }

func (it *Item) finish(err error) { it.once.Do(func() { it.done <- err }) }

// Outbox is a bounded FIFO of messages owed to the broker. When full, the
// oldest message not already in flight is dropped and counted: while the
// broker is away the newest state matters most. At most limit-1 messages are
// in flight at once, so that one can always be dropped.
//
// With Persist, the messages not confirmed within PersistAfter are also
// kept on disk, so that they outlive the process (see journal.go).
type Outbox struct {
	mu       sync.Mutex
	items    []*Item
	inflight int // the first inflight items are published, their confirms awaited
	limit    int
	ready    chan struct{}
	dropped  atomic.Uint64
	pushed   atomic.Uint64
	acked    atomic.Uint64
	restored atomic.Uint64

	// The journal, when persisting; fields below are guarded by mu, but
	// only the journal goroutine touches j's file.
	j       *journal
	jlog    *slog.Logger
	jdone   []uint64  // ids of written messages since confirmed or dropped
	jdoneAt time.Time // when jdone became non-empty
	stored  int       // messages of items that are on disk
	jkick   chan struct{}
	// jstat is the journal while persisting and after it was closed or
	// abandoned (its byte and fsync counts); diskErr why it is not used.
	jstat   *journal
	diskErr string
	// OnConfirm, when set before use, receives each message's time from
	// Push to the broker's confirm.
	OnConfirm func(time.Duration)
}

// NewOutbox holds at most limit messages (at least 2).
func NewOutbox(limit int) *Outbox {
	return &Outbox{limit: max(limit, 2), ready: make(chan struct{}, 1), jkick: make(chan struct{}, 1)}
}

// Push appends it, dropping the oldest waiting message if full.
func (o *Outbox) Push(it *Item) {
	o.mu.Lock()
	if len(o.items) >= o.limit {
		i := o.inflight // at most limit-1 are in flight: one is not
		victim := o.items[i]
		o.items = append(o.items[:i], o.items[i+1:]...)
		o.forgetLocked(victim)
		o.dropped.Add(1)
		victim.finish(ErrDropped)
	}
	o.items = append(o.items, it)
	o.mu.Unlock()
	o.pushed.Add(1)
	signal(o.ready)
	signal(o.jkick)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// next returns the oldest message not in flight and marks it in flight, or
// nil when there is none or limit-1 are in flight already. Those in flight
// are always the oldest: next takes them in order, ack removes one of them,
// Push drops one after them, resend puts them all back.
func (o *Outbox) next() *Item {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.inflight >= len(o.items) || o.inflight >= o.limit-1 {
		return nil
	}
	o.inflight++
	return o.items[o.inflight-1]
}

// ack removes a confirmed in-flight message.
func (o *Outbox) ack(it *Item) {
	o.mu.Lock()
	// Confirms come in order: it is nearly always the first.
	for i, x := range o.items[:o.inflight] {
		if x != it {
			continue
		}
		if i == 0 {
			o.items[0] = nil
			o.items = o.items[1:]
		} else {
			o.items = append(o.items[:i], o.items[i+1:]...)
		}
		o.inflight--
		o.forgetLocked(it)
		break
	}
	o.mu.Unlock()
	o.acked.Add(1)
	if o.OnConfirm != nil {
		o.OnConfirm(time.Since(it.queued))
	}
	it.finish(nil)
}

// resend puts every message in flight back to waiting, to go again in
// order: after a reconnect or a nack their confirms will not come.
func (o *Outbox) resend() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.inflight = 0
}

// Len is the number of messages waiting (those in flight included).
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.items)
}

// Ready receives a value after a Push.
func (o *Outbox) Ready() <-chan struct{} { return o.ready }

// Counters are totals since start.
type Counters struct {
	Pushed    uint64 `json:"queued_total"`
	Confirmed uint64 `json:"confirmed_total"`
	Dropped   uint64 `json:"dropped_total"`
	Waiting   int    `json:"outbox"`
	// Restored counts the messages an earlier process left on disk and
	// this one took over; Stored is how many of those waiting are on disk.
	Restored uint64 `json:"restored_total"`
	Stored   int    `json:"stored"`
	// Disk is the file the outbox is kept in, empty when it is kept in
	// memory only; DiskError says why not, when it was asked to.
	// DiskBytes and DiskSyncs count the writes and fsyncs since start.
	Disk      string `json:"disk"`
	DiskError string `json:"disk_error,omitempty"`
	DiskBytes uint64 `json:"disk_bytes_total"`
	DiskSyncs uint64 `json:"disk_fsyncs_total"`
}

// Counters returns the outbox totals.
func (o *Outbox) Counters() Counters {
	o.mu.Lock()
	c := Counters{Waiting: len(o.items), Stored: o.stored, DiskError: o.diskErr}
	if o.j != nil {
		c.Disk = o.j.path()
	}
	js := o.jstat
	o.mu.Unlock()
	c.Pushed, c.Confirmed, c.Dropped, c.Restored = o.pushed.Load(), o.acked.Load(), o.dropped.Load(), o.restored.Load()
	if js != nil {
		c.DiskBytes, c.DiskSyncs = js.written.Load(), js.syncs.Load()
	}
	return c
}

// ---- keeping the outbox on disk ----

// PersistAfter is how long a message may wait for its confirm before it is
// written to disk. While the broker confirms (within milliseconds), nothing
// is written; while it is away, each message is written once, a second
// after it was queued, with one fsync per write.
const PersistAfter = time.Second

// doneAfter batches the records of confirmed messages.
const doneAfter = 200 * time.Millisecond

// Persist keeps the outbox in dir from now on: it takes over, in front of
// anything queued, the messages an earlier process left there (at most the
// outbox's limit: older ones are dropped and counted) and returns how many.
// Call it before the outbox is used, then run RunJournal. On an error
// nothing is kept on disk and the outbox works in memory as before.
func (o *Outbox) Persist(dir string, log *slog.Logger) (n int, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("keep the outbox in %s: %w", dir, err)
			o.mu.Lock()
			o.diskErr = err.Error()
			o.mu.Unlock()
		}
	}()
	j, pending, damage, err := openJournal(dir)
	if err != nil {
		return 0, err
	}
	if damage != "" {
		log.Warn("outbox journal damaged, probably by a crash; the rest was read", "file", j.path(), "damage", damage)
	}
	if extra := len(pending) - o.limit; extra > 0 {
		log.Warn("more snapshots on disk than OUTBOX_SIZE: dropped the oldest", "dropped", extra)
		pending = pending[extra:]
		o.dropped.Add(uint64(extra))
		if err := j.rewrite(pending); err != nil {
			j.close()
			return 0, err
		}
	}
	items := make([]*Item, 0, len(pending)+len(o.items))
	for _, s := range pending {
		it := NewItem(s.key, s.msg)
		it.queued, it.jid = s.queued, s.id
		items = append(items, it)
	}
	o.mu.Lock()
	o.items = append(items, o.items...)
	o.stored += len(pending)
	o.j, o.jlog, o.jstat = j, log, j
	o.mu.Unlock()
	o.restored.Add(uint64(len(pending)))
	if len(pending) > 0 {
		signal(o.ready)
	}
	return len(pending), nil
}

// RunJournal writes what must be kept on disk until ctx ends; then it
// writes every message still waiting, whatever its age, and closes the
// file. Cancel ctx only after the publisher has stopped.
func (o *Outbox) RunJournal(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		now := time.Now()
		due, ok := o.journalDue()
		if ok && !due.After(now) {
			o.flush(now, false)
			continue
		}
		if ok {
			timer.Reset(due.Sub(now))
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			o.flush(time.Now(), true)
			o.mu.Lock()
			j := o.j
			o.j = nil
			o.mu.Unlock()
			if j != nil {
				return j.close()
			}
			return nil
		case <-o.jkick:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// forgetLocked notes that it left the outbox.
func (o *Outbox) forgetLocked(it *Item) {
	if it.jid == 0 || o.j == nil {
		return
	}
	if len(o.jdone) == 0 {
		o.jdoneAt = time.Now()
		signal(o.jkick)
	}
	o.jdone = append(o.jdone, it.jid)
	o.stored--
}

// journalDue is when the journal has work next.
func (o *Outbox) journalDue() (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.j == nil {
		return time.Time{}, false
	}
	var due time.Time
	if len(o.jdone) > 0 {
		due = o.jdoneAt.Add(doneAfter)
	}
	for _, it := range o.items {
		if it.jid == 0 {
			if at := it.queued.Add(PersistAfter); due.IsZero() || at.Before(due) {
				due = at
			}
			break
		}
	}
	return due, !due.IsZero()
}

// flush writes the messages queued before now-PersistAfter (all: every
// one) and the records of those since confirmed or dropped.
func (o *Outbox) flush(now time.Time, all bool) {
	o.mu.Lock()
	j := o.j
	if j == nil {
		o.mu.Unlock()
		return
	}
	var puts []stored
	for _, it := range o.items {
		if it.jid != 0 {
			continue
		}
		if !all && now.Sub(it.queued) < PersistAfter {
			break
		}
		it.jid = j.nextID
		j.nextID++
		o.stored++
		puts = append(puts, storedOf(it))
	}
	done := o.jdone
	o.jdone = nil
	o.mu.Unlock()

	err := j.append(puts, done)
	compact := false
	if err == nil {
		compact, err = j.tidy()
	}
	if err == nil && compact {
		o.mu.Lock()
		var live []stored
		for _, it := range o.items {
			if it.jid != 0 {
				live = append(live, storedOf(it))
			}
		}
		// The rewrite holds exactly the live messages: records of those
		// that leave from now on go into the new file.
		o.jdone = nil
		o.mu.Unlock()
		err = j.rewrite(live)
	}
	if err != nil {
		o.mu.Lock()
		o.j = nil
		for _, it := range o.items {
			it.jid = 0
		}
		o.stored, o.jdone = 0, nil
		o.diskErr = fmt.Sprintf("cannot write %s: %v (in memory only until restart)", j.path(), err)
		o.mu.Unlock()
		j.abandon()
		o.jlog.Warn("cannot write the outbox to disk: keeping it in memory only until restart", "dir", j.dir, "err", err)
	}
}

// storedOf copies what the journal keeps of it. Not Msg.Timestamp: the
// publisher sets it while sending, without the lock.
func storedOf(it *Item) stored {
	m := &it.Msg
	return stored{id: it.jid, queued: it.queued, key: it.Key, msg: amqp.Publishing{
		ContentType: m.ContentType, ContentEncoding: m.ContentEncoding, MessageId: m.MessageId, Type: m.Type,
		AppId: m.AppId, UserId: m.UserId, CorrelationId: m.CorrelationId, ReplyTo: m.ReplyTo, Expiration: m.Expiration,
		DeliveryMode: m.DeliveryMode, Priority: m.Priority, Body: m.Body}}
}
