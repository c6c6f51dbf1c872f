package hub

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/snapshot/snapshottest"
)

// TestCompleteEntriesCarryTheSnapshotAsPublished: the snapshot the fleet
// keeps packed reaches every complete entry as the text published,
// compacted, byte for byte: the watched host's (when the watch starts, and
// at its updates, with no complete subscriber), GET /ws?complete=1's, GET
// /api/hosts's and GET /api/hosts?host=NAME's.
func TestCompleteEntriesCarryTheSnapshotAsPublished(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 5, MaxHosts: 3, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{Tick: time.Hour}, discard)
	now := time.Now()
	s1 := snap("web-01", "i", 1)
	msg1, want1 := snapshottest.Published(t, s1)
	f.Apply(s1, msg1, "", now)
	h.tick()
	_, watcher := h.Subscribe(100, 1<<30, false, now)
	h.Watch(watcher, "web-01")

	type entry struct {
		Host     string          `json:"host"`
		Snapshot json.RawMessage `json:"snapshot"`
	}
	frame := func(sub *Sub) (hosts []entry, watched *entry) {
		t.Helper()
		var fr struct {
			Hosts   []entry `json:"hosts"`
			Watched *entry  `json:"watched"`
		}
		b := pendingFrame(t, sub)
		if err := json.Unmarshal(b, &fr); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return fr.Hosts, fr.Watched
	}
	same := func(reader string, got, want []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Errorf("%s gives the snapshot\n%q\nwant\n%q", reader, got, want)
		}
	}

	if _, w := frame(watcher); w == nil {
		t.Fatal("no watched entry when the watch started")
	} else {
		same("the watched entry when the watch starts", w.Snapshot, want1)
	}
	s2 := snap("web-01", "i", 2)
	msg2, want2 := snapshottest.Published(t, s2)
	f.Apply(s2, msg2, "", now.Add(time.Second))
	h.tick()
	if hosts, w := frame(watcher); w == nil || len(hosts) != 1 || hosts[0].Snapshot != nil {
		t.Fatalf("the watcher's frame at an update: %+v, watched %+v", hosts, w)
	} else {
		same("the watched entry at an update", w.Snapshot, want2)
	}

	_, complete := h.Subscribe(100, 1<<30, true, now)
	s3 := snap("web-01", "i", 3)
	msg3, want3 := snapshottest.Published(t, s3)
	f.Apply(s3, msg3, "", now.Add(2*time.Second))
	h.tick()
	if hosts, _ := frame(complete); len(hosts) != 1 {
		t.Fatalf("complete subscriber: %d entries, want 1", len(hosts))
	} else {
		same("GET /ws?complete=1", hosts[0].Snapshot, want3)
	}

	var all bytes.Buffer
	if err := h.WriteHosts(&all, now); err != nil {
		t.Fatal(err)
	}
	var listed []entry
	if err := json.Unmarshal(all.Bytes(), &listed); err != nil || len(listed) != 1 {
		t.Fatalf("GET /api/hosts: %v: %s", err, all.Bytes())
	}
	same("GET /api/hosts", listed[0].Snapshot, want3)
	var one bytes.Buffer
	if _, err := h.WriteHost(&one, "web-01", now, -1); err != nil {
		t.Fatal(err)
	}
	var e entry
	if err := json.Unmarshal(one.Bytes(), &e); err != nil {
		t.Fatalf("GET /api/hosts?host=: %v: %s", err, one.Bytes())
	}
	same("GET /api/hosts?host=", e.Snapshot, want3)

	h.Unsubscribe(complete)
	h.Unsubscribe(watcher)
	if h.complete != 0 || len(h.watched) != 0 {
		t.Fatalf("after unsubscribing: %d complete, watched %v", h.complete, h.watched)
	}
}

// TestUpdatesUnpackedOnlyForReaders: an update no subscriber reads whole
// (no complete subscriber, its host not watched) has no snapshot unpacked;
// one of a watched host has.
func TestUpdatesUnpackedOnlyForReaders(t *testing.T) {
	f, h := testHub()
	_, sub := h.Subscribe(100, 1<<30, false, time.Now())
	defer h.Unsubscribe(sub)
	for _, n := range []string{"a", "b"} {
		f.Apply(snap(n, "i", 1), body(snap(n, "i", 1)), "", time.Now())
	}
	h.Watch(sub, "b")
	take(sub)
	for _, n := range []string{"a", "b"} {
		f.Apply(snap(n, "i", 2), body(snap(n, "i", 2)), "", time.Now())
	}
	got := take(sub)
	if len(got) != 2 || got[0].Host != "a" || got[0].Full.Mid != nil || got[1].Host != "b" || got[1].Full.Mid == nil {
		t.Fatalf("updates %+v: want a's without its snapshot, b's with it", got)
	}
}
