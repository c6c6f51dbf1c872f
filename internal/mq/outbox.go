package mq

import (
	"errors"
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
// broker is away the newest state matters most.
type Outbox struct {
	mu       sync.Mutex
	items    []*Item
	inflight *Item
	limit    int
	ready    chan struct{}
	dropped  atomic.Uint64
	pushed   atomic.Uint64
	acked    atomic.Uint64
	// OnConfirm, when set before use, receives each message's time from
	// Push to the broker's confirm.
	OnConfirm func(time.Duration)
}

// NewOutbox holds at most limit messages (at least 2).
func NewOutbox(limit int) *Outbox {
	return &Outbox{limit: max(limit, 2), ready: make(chan struct{}, 1)}
}

// Push appends it, dropping the oldest waiting message if full.
func (o *Outbox) Push(it *Item) {
	o.mu.Lock()
	if len(o.items) >= o.limit {
		i := 0
		if o.items[0] == o.inflight {
			i = 1
		}
		victim := o.items[i]
		o.items = append(o.items[:i], o.items[i+1:]...)
		o.dropped.Add(1)
		victim.finish(ErrDropped)
	}
	o.items = append(o.items, it)
	o.mu.Unlock()
	o.pushed.Add(1)
	select {
	case o.ready <- struct{}{}:
	default:
	}
}

// peek returns the oldest message and marks it in flight, or nil.
func (o *Outbox) peek() *Item {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.items) == 0 {
		return nil
	}
	o.inflight = o.items[0]
	return o.inflight
}

// ack removes the confirmed in-flight message.
func (o *Outbox) ack(it *Item) {
	o.mu.Lock()
	if len(o.items) > 0 && o.items[0] == it {
		o.items[0] = nil
		o.items = o.items[1:]
	}
	o.inflight = nil
	o.mu.Unlock()
	o.acked.Add(1)
	if o.OnConfirm != nil {
		o.OnConfirm(time.Since(it.queued))
	}
	it.finish(nil)
}

// Len is the number of messages waiting (the in-flight one included).
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
}

// Counters returns the outbox totals.
func (o *Outbox) Counters() Counters {
	return Counters{Pushed: o.pushed.Load(), Confirmed: o.acked.Load(), Dropped: o.dropped.Load(), Waiting: o.Len()}
}
