package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sysmon-dev/sysmon/internal/fleet"
)

// takeFrame is what a dashboard's writer would send for what waits for
// sub, decoded (strictly, into protocol.go's types) and compared with what
// encoding/json writes from those; ok is false when nothing waits.
func takeFrame(t *testing.T, sub *Sub) (entries []HostEntry, ok bool) {
	entries, _, ok = takeFrameWatched(t, sub)
	return entries, ok
}

func takeFrameWatched(t *testing.T, sub *Sub) (entries []HostEntry, watched *HostEntry, ok bool) {
	t.Helper()
	select {
	case <-sub.Ready():
	default:
		return nil, nil, false
	}
	frame := pendingFrame(t, sub)
	var f UpdateFrame
	decodeStrict(t, frame, &f)
	if f.Type != "update" {
		t.Fatalf("frame type %q", f.Type)
	}
	for _, raw := range f.Hosts {
		var e HostEntry
		decodeStrict(t, raw, &e)
		again, _ := json.Marshal(e)
		if isDelta(t, raw) {
			again = withoutFacts(t, again)
		}
		sameJSON(t, raw, again)
		entries = append(entries, e)
	}
	if f.Watched != nil {
		again, _ := json.Marshal(f.Watched)
		var raw struct {
			Watched json.RawMessage `json:"watched"`
		}
		json.Unmarshal(frame, &raw)
		sameJSON(t, raw.Watched, again)
	}
	return entries, f.Watched, true
}

// isDelta says whether an update's entry leaves out the host's facts
// (FactKeys): all of them or none.
func isDelta(t *testing.T, raw []byte) bool {
	t.Helper()
	var m struct {
		Removed bool `json:"removed"`
	}
	if json.Unmarshal(raw, &m); m.Removed {
		return false
	}
	var e map[string]json.RawMessage
	var fig map[string]json.RawMessage
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(e["figures"], &fig)
	has, hasnt := 0, 0
	for _, k := range FactKeys.Entry {
		if _, ok := e[k]; ok {
			has++
		} else if k != "host_id" { // absent without one
			hasnt++
		}
	}
	for _, k := range FactKeys.Figures {
		if _, ok := fig[k]; ok {
			has++
		} else if k != "tags" { // absent without any
			hasnt++
		}
	}
	if has > 0 && hasnt > 0 {
		t.Fatalf("an entry with some of the host's facts only: %s", raw)
	}
	return has == 0
}

// withoutFacts is an entry with its facts left out.
func withoutFacts(t *testing.T, raw []byte) []byte {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	for _, k := range FactKeys.Entry {
		delete(e, k)
	}
	if fig, ok := e["figures"].(map[string]any); ok {
		for _, k := range FactKeys.Figures {
			delete(fig, k)
		}
	}
	b, _ := json.Marshal(e)
	return b
}

func pointTimes(e HostEntry) []int64 {
	var ts []int64
	for _, p := range e.Points {
		ts = append(ts, p.T)
	}
	if e.Point != nil {
		ts = append(ts, e.Point.T)
	}
	return ts
}

// TestTickMergesUpdatesPerHost: between ticks a dashboard gets nothing; at
// a tick it gets one frame with one entry per changed host, in the order
// they first changed, each the newest, lean (without points), and the
// complete entry of the host it watches, with the points of the updates it
// merged; a tick with no change sends nothing.
func TestTickMergesUpdatesPerHost(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 10, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{Tick: time.Hour}, discard) // ticks by hand
	_, sub := h.Subscribe(100, 1<<30, false, time.Now())
	h.Watch(sub, "a")
	if got, w, ok := takeFrameWatched(t, sub); ok && (len(got) > 0 || w != nil) {
		t.Fatalf("watching an unknown host sent %+v %+v", got, w)
	}
	t0 := time.Now().Truncate(time.Millisecond)
	for i, c := range []struct {
		host string
		seq  uint64
	}{{"a", 1}, {"b", 1}, {"a", 2}, {"a", 3}} {
		s := snap(c.host, "i", c.seq)
		f.Apply(s, body(s), "", t0.Add(time.Duration(i)*time.Millisecond))
	}
	if _, ok := takeFrame(t, sub); ok {
		t.Fatal("a frame before the tick")
	}
	h.tick()
	got, w, ok := takeFrameWatched(t, sub)
	if !ok || len(got) != 2 || got[0].Host != "a" || got[1].Host != "b" {
		t.Fatalf("tick frame %+v", got)
	}
	a, b := got[0], got[1]
	if *a.Figures.Seq != 3 || a.Snapshot != nil || a.Figures.FS != nil || b.Snapshot != nil {
		t.Fatalf("a is not its newest lean entry: %+v", a)
	}
	var s struct{ Seq uint64 }
	if w == nil || w.Host != "a" || json.Unmarshal(w.Snapshot, &s) != nil || s.Seq != 3 || len(w.Figures.FS) != 1 || w.Figures.Net == nil {
		t.Fatalf("the watched host's complete entry: %+v", w)
	}
	want := []int64{t0.UnixMilli(), t0.UnixMilli() + 2, t0.UnixMilli() + 3}
	if fmt.Sprint(pointTimes(*w)) != fmt.Sprint(want) || len(pointTimes(a)) != 0 {
		t.Fatalf("a's points at %v (watched) and %v (lean), want %v and none", pointTimes(*w), pointTimes(a), want)
	}
	if *b.Figures.Seq != 1 || len(pointTimes(b)) != 0 {
		t.Fatalf("b %+v", b)
	}
	h.tick()
	if _, ok := takeFrame(t, sub); ok {
		t.Fatal("a frame for a tick without changes")
	}

	// Watching another host sends its complete entry at once, alone; a
	// change of a host not watched comes lean, without "watched".
	h.Watch(sub, "b")
	got, w, _ = takeFrameWatched(t, sub)
	if len(got) != 0 || w == nil || w.Host != "b" || w.Snapshot == nil {
		t.Fatalf("watch b: %+v %+v", got, w)
	}
	// It is the host's complete entry, as GET /api/hosts has it.
	var api bytes.Buffer
	var listed []HostEntry
	if err := h.WriteHosts(&api, time.Now()); err != nil {
		t.Fatal(err)
	}
	decodeStrict(t, api.Bytes(), &listed)
	wj, _ := json.Marshal(w)
	aj, _ := json.Marshal(listed[1])
	if listed[1].Host != "b" || string(wj) != string(aj) {
		t.Fatalf("watched b:\n%s\nGET /api/hosts:\n%s", wj, aj)
	}
	s4 := snap("a", "i", 4)
	f.Apply(s4, body(s4), "", time.Now())
	h.tick()
	got, w, _ = takeFrameWatched(t, sub)
	if len(got) != 1 || got[0].Host != "a" || w != nil {
		t.Fatalf("a change of a, b watched: %+v %+v", got, w)
	}
	// A complete subscriber gets complete entries, and no "watched".
	_, all := h.Subscribe(100, 1<<30, true, time.Now())
	s5 := snap("a", "i", 5)
	f.Apply(s5, body(s5), "", time.Now())
	h.tick()
	got, w, _ = takeFrameWatched(t, all)
	if len(got) != 1 || got[0].Snapshot == nil || len(got[0].Figures.FS) != 1 || w != nil {
		t.Fatalf("complete subscriber: %+v %+v", got, w)
	}
	h.Unsubscribe(all)
	h.Unsubscribe(sub)
	if h.complete != 0 || len(h.watched) != 0 {
		t.Fatalf("after unsubscribing: %d complete, watched %v", h.complete, h.watched)
	}
}

// TestTickBoundsPoints: a host that sends more than MaxPoints updates in a
// tick gets its newest MaxPoints points (and the newest entry) through.
func TestTickBoundsPoints(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 500, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{Tick: time.Hour}, discard)
	_, sub := h.Subscribe(100, 1<<30, true, time.Now()) // complete entries have the points
	t0 := time.Now().Truncate(time.Millisecond)
	const n = MaxPoints * 3
	for i := range uint64(n) {
		s := snap("a", "i", i+1)
		f.Apply(s, body(s), "", t0.Add(time.Duration(i)*time.Millisecond))
	}
	h.tick()
	got, _ := takeFrame(t, sub)
	if len(got) != 1 || *got[0].Figures.Seq != n {
		t.Fatalf("frame %+v", got)
	}
	ts := pointTimes(got[0])
	if len(ts) != MaxPoints+1 || ts[0] != t0.UnixMilli()+n-MaxPoints-1 || ts[len(ts)-1] != t0.UnixMilli()+n-1 {
		t.Fatalf("%d points from %d to %d, want the newest %d+1", len(ts), ts[0]-t0.UnixMilli(), ts[len(ts)-1]-t0.UnixMilli(), MaxPoints)
	}
}

// TestTickBehindSubscriberMerges: a dashboard that has not taken several
// ticks' frames, more than its buffer of updates, gets one entry per host,
// the newest, and stays connected.
func TestTickBehindSubscriberMerges(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 10, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{Tick: time.Hour}, discard)
	_, sub := h.Subscribe(4, 1<<30, false, time.Now())
	for seq := uint64(1); seq <= 5; seq++ {
		for _, host := range []string{"a", "b", "c"} {
			s := snap(host, "i", seq)
			f.Apply(s, body(s), "", time.Now())
		}
		h.tick()
	}
	got, _ := takeFrame(t, sub)
	var order []string
	for _, e := range got {
		order = append(order, fmt.Sprintf("%s%d", e.Host, *e.Figures.Seq))
	}
	if fmt.Sprint(order) != "[a5 b5 c5]" || sub.Merged() == 0 {
		t.Fatalf("behind dashboard got %v (merged %d), want [a5 b5 c5]", order, sub.Merged())
	}
	select {
	case <-sub.Dropped():
		t.Fatal("a dashboard merging per host was dropped")
	default:
	}
}

// TestTickWebSocket: with a tick, a dashboard that keeps up gets at most
// about one frame per tick, the newest entry of every host, and (complete
// entries: GET /ws?complete=1) every history point once, in order, while
// hosts send far faster than the tick.
func TestTickWebSocket(t *testing.T) {
	const tick = 20 * time.Millisecond
	f := fleet.New(fleet.Config{HistorySize: 10, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{Tick: tick, SendBuffer: 1024}, discard)
	c, _, err := websocket.DefaultDialer.Dial(serveHub(t, h)+"?complete=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var state StateFrame
	if err := c.ReadJSON(&state); err != nil || len(state.Hosts) != 0 {
		t.Fatalf("state %+v, %v", state, err)
	}
	const n = 300
	start := time.Now()
	t0 := start.Truncate(time.Millisecond)
	go func() {
		for i := range uint64(n) {
			for k, host := range []string{"a", "b", "c"} {
				s := snap(host, "i", i+1)
				f.Apply(s, body(s), "", t0.Add(time.Duration(3*i+uint64(k))*time.Millisecond))
			}
			if i%4 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	// Host k's i-th point is at t0 + 3i+k ms.
	next := map[string]int64{"a": 0, "b": 1, "c": 2}
	skipped, frames := 0, 0
	for next["a"] < 3*n || next["b"] < 3*n+1 || next["c"] < 3*n+2 {
		var u UpdateFrame
		if err := c.ReadJSON(&u); err != nil {
			t.Fatalf("after %d frames: %v (next points %v)", frames, err, next)
		}
		frames++
		for _, raw := range u.Hosts {
			var e HostEntry
			decodeStrict(t, raw, &e)
			ts := pointTimes(e)
			for i, v := range ts {
				got := v - t0.UnixMilli()
				if got != next[e.Host] && !(i == 0 && len(e.Points) == MaxPoints && got > next[e.Host]) {
					t.Fatalf("%s: point at +%d ms, want +%d: every point once, in order", e.Host, got, next[e.Host])
				}
				skipped += int(got-next[e.Host]) / 3
				next[e.Host] = got + 3
			}
		}
	}
	elapsed := time.Since(start)
	if most := int(elapsed/tick) + 2; frames > most {
		t.Fatalf("%d frames in %v, more than one per %v tick (%d)", frames, elapsed, tick, most)
	}
	t.Logf("%d updates of 3 hosts in %d frames over %v (%d points skipped: over %d in a tick)", 3*n, frames, elapsed.Round(time.Millisecond), skipped, MaxPoints)
}

// TestUpdatesLeaveOutUnchangedFacts: a dashboard that gets every frame gets
// a host's facts (FactKeys) once, and again only when they change; the
// entry it then completes from what it had is the whole lean entry. One
// that fell behind, or a host new to it, gets them whole.
func TestUpdatesLeaveOutUnchangedFacts(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 10, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{Tick: time.Hour}, discard)
	_, sub := h.Subscribe(1000, 1<<30, false, time.Now())
	_, behind := h.Subscribe(1, 1<<30, false, time.Now()) // merges from its second update on
	apply := func(seq uint64, platform string) {
		s := snap("a", "i", seq)
		s.HostID, s.Platform, s.Tags = "id-a", platform, map[string]string{"env": "prod"}
		f.Apply(s, body(s), "", time.Now())
		s = snap("b", "i", seq)
		f.Apply(s, body(s), "", time.Now())
		h.tick()
	}
	frame := func(sub *Sub) []bool {
		t.Helper()
		var fr UpdateFrame
		decodeStrict(t, pendingFrame(t, sub), &fr)
		var deltas []bool
		for _, raw := range fr.Hosts {
			deltas = append(deltas, isDelta(t, raw))
		}
		return deltas
	}
	apply(1, "Linux")
	if got := frame(sub); fmt.Sprint(got) != "[false false]" {
		t.Fatalf("first entries of two hosts: delta %v, want whole", got)
	}
	_, fresh := h.Subscribe(1000, 1<<30, false, time.Now()) // its state has the facts
	apply(2, "Linux")
	if got := frame(sub); fmt.Sprint(got) != "[true true]" {
		t.Fatalf("unchanged facts: delta %v, want left out", got)
	}
	if got := frame(fresh); fmt.Sprint(got) != "[true true]" {
		t.Fatalf("after the state: delta %v, want left out", got)
	}
	apply(3, "FreeBSD")
	if got := frame(sub); fmt.Sprint(got) != "[false true]" {
		t.Fatalf("a's platform changed: delta %v, want a whole, b left out", got)
	}
	if got := frame(behind); fmt.Sprint(got) != "[false false]" {
		t.Fatalf("a dashboard that fell behind: delta %v, want whole entries", got)
	}

	// What a client completes from its last entry is the whole lean entry.
	apply(4, "FreeBSD")
	var p Pending
	sub.Take(&p)
	u := p.batches[0].updates[0]
	if u.Host != "a" || u.Delta == nil {
		t.Fatalf("update of %s without a delta", u.Host)
	}
	var whole, delta map[string]any
	json.Unmarshal(u.Lean.bytes(), &whole)
	json.Unmarshal(u.Delta.bytes(), &delta)
	for _, k := range FactKeys.Entry {
		if v, ok := whole[k]; ok {
			delta[k] = v
		}
	}
	for _, k := range FactKeys.Figures {
		if v, ok := whole["figures"].(map[string]any)[k]; ok {
			delta["figures"].(map[string]any)[k] = v
		}
	}
	if !reflect.DeepEqual(whole, delta) {
		t.Fatalf("the delta with the facts back\n%v\nis not the lean entry\n%v", delta, whole)
	}

	// Forgotten and filed again: new to the dashboard, whole.
	f.Forget("a")
	h.tick()
	frame(sub)
	apply(5, "FreeBSD")
	if got := frame(sub); fmt.Sprint(got) != "[false true]" {
		t.Fatalf("a filed again after it was forgotten: delta %v, want whole", got)
	}
}

// TestFactKeysAreFields: FactKeys name fields of HostEntry and Figures.
func TestFactKeysAreFields(t *testing.T) {
	for typ, keys := range map[reflect.Type][]string{reflect.TypeFor[HostEntry](): FactKeys.Entry, reflect.TypeFor[Figures](): FactKeys.Figures} {
		names := map[string]bool{}
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			names[name] = true
		}
		for _, k := range keys {
			if !names[k] {
				t.Errorf("FactKeys: %s has no field %q", typ.Name(), k)
			}
		}
	}
}
