package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

var discard = slog.New(slog.DiscardHandler)

func snap(host, inst string, seq uint64) *snapshot.Snapshot {
	return &snapshot.Snapshot{Timestamp: "t", CPUPercent: float64(seq % 100), Memory: snapshot.Memory{Total: 1, Percent: 10},
		Host: host, InstanceID: inst, Seq: seq, IntervalSeconds: 1, CPUPerCore: []float64{1, 2},
		Filesystems: []snapshot.Filesystem{{Mountpoint: "/", Percent: 50}}}
}

func body(s *snapshot.Snapshot) []byte {
	b, err := snapshot.Encode(s)
	if err != nil {
		panic(err)
	}
	return b
}

func testHub() (*fleet.Fleet, *Hub) {
	f := fleet.New(fleet.Config{HistorySize: 5, MaxHosts: 3, StaleAfter: 3, OfflineAfter: 10})
	return f, New(f, Options{}, discard)
}

// take returns the updates waiting for sub, oldest first.
func take(sub *Sub) []Update {
	var p Pending
	sub.Take(&p)
	var out []Update
	for _, b := range p.batches {
		out = append(out, b.updates...)
	}
	return append(out, p.updates...)
}

// pendingFrame is what a dashboard's writer would send for what waits for sub.
func pendingFrame(t *testing.T, sub *Sub) []byte {
	t.Helper()
	var p Pending
	sub.Take(&p)
	var buf bytes.Buffer
	if err := p.WriteFrame(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bytes is the update's complete entry, as a frame carries it.
func (u *Update) bytes() []byte { return u.Full.bytes() }

func (e *Encoded) bytes() []byte {
	return append(append(append([]byte(nil), e.Head...), e.Mid...), e.Tail...)
}

// TestSubscribeSeesEverythingOnce: updates applied concurrently with a
// subscription are either in the state or in the stream, never both, never
// neither: the state holds the latest snapshot at subscription, the stream
// every later one, in order.
func TestSubscribeSeesEverythingOnce(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 10, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{}, discard)
	const n = 500
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := uint64(1); i <= n; i++ {
			s := snap("a", "i", i)
			f.Apply(s, body(s), "", time.Now())
		}
	}()
	time.Sleep(time.Millisecond)
	state, sub := h.Subscribe(n+1, 1<<30, true, time.Now()) // complete: it reads the snapshots
	<-done
	var buf bytes.Buffer
	if _, err := state.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var hosts []HostEntry
	decodeStrict(t, buf.Bytes(), &hosts)
	next := uint64(1)
	if len(hosts) == 1 {
		next = *hosts[0].Figures.Seq + 1
	}
	for _, u := range take(sub) {
		var e struct {
			Snapshot struct{ Seq uint64 } `json:"snapshot"`
		}
		if err := json.Unmarshal(u.bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Snapshot.Seq != next {
			t.Fatalf("stream has seq %d, want %d", e.Snapshot.Seq, next)
		}
		next++
	}
	if next != n+1 {
		t.Fatalf("state and stream end at %d, want %d", next-1, n)
	}
}

// TestBehindSubscriberGetsNewestPerHost: past MergeAfter waiting updates, a
// subscriber's queue keeps one update per host, the newest, in first-seen
// order; memory stays bounded by the fleet, not by the stream.
func TestBehindSubscriberGetsNewestPerHost(t *testing.T) {
	f, h := testHub()
	_, sub := h.Subscribe(2, 1<<30, true, time.Now()) // complete: it reads the snapshots
	for i := uint64(1); i <= 50; i++ {
		for _, h := range []string{"a", "b", "c"} {
			s := snap(h, "i", i)
			f.Apply(s, body(s), "", time.Now())
		}
	}
	got := take(sub)
	var order []string
	for _, u := range got {
		var e struct {
			Host     string
			Snapshot struct{ Seq uint64 } `json:"snapshot"`
		}
		json.Unmarshal(u.bytes(), &e)
		order = append(order, fmt.Sprintf("%s%d", e.Host, e.Snapshot.Seq))
	}
	// One slot per host, the newest, in the order the hosts first waited.
	want := []string{"a50", "b50", "c50"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("queue %v, want %v", order, want)
	}
	if sub.Merged() == 0 {
		t.Fatal("no merge counted")
	}
	select {
	case <-sub.Dropped():
		t.Fatal("a subscriber merging per host was dropped")
	default:
	}
}

func TestSubscriberOverByteLimitIsDropped(t *testing.T) {
	f, h := testHub()
	_, sub := h.Subscribe(1000, 600, false, time.Now())
	for i := uint64(1); i <= 3; i++ {
		s := snap("a", "i", i)
		f.Apply(s, body(s), "", time.Now())
	}
	select {
	case <-sub.Dropped():
	default:
		t.Fatal("a subscriber over its byte limit was not dropped")
	}
	h.Unsubscribe(sub) // must not panic after a drop
}

func TestEntryJSONIsValid(t *testing.T) {
	f, h := testHub()
	s := snap(`<img src=x onerror=alert(1)>`, "i", 1)
	s.Network = &snapshot.Network{RxBytesPerSec: 1.5}
	f.Apply(s, body(s), "", time.Now())
	var buf bytes.Buffer
	if err := h.WriteHosts(&buf, time.Now()); err != nil {
		t.Fatal(err)
	}
	var one bytes.Buffer
	if _, err := h.WriteHost(&one, `<img src=x onerror=alert(1)>`, time.Now(), -1); err != nil {
		t.Fatal(err)
	}
	b := one.Bytes()
	b = append(append(append(buf.Bytes(), ','), b...), ']')
	b = append([]byte{'['}, b...)
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %v: %s", err, b)
	}
}
