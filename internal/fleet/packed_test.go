package fleet

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
	"github.com/sysmon-dev/sysmon/internal/snapshot/snapshottest"
)

// TestSnapshotComesBackAsPublished: every reader of a host's snapshot gets
// the text as published, compacted, byte for byte (not the packed form the
// fleet keeps), and the fleet keeps it in less than the text's size.
func TestSnapshotComesBackAsPublished(t *testing.T) {
	f := New(Config{HistorySize: 4, StaleAfter: 3, OfflineAfter: 10})
	f.Watch(func() {})
	now := time.Now()
	s := snap("web-01", "i", 1)
	b, want := snapshottest.Published(t, s)
	if f.Apply(s, b, "", now) != Accepted {
		t.Fatal("not accepted")
	}
	same := func(reader string, got []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Errorf("%s gives\n%q\nwant\n%q", reader, got, want)
		}
	}
	changes := f.Changes(time.Time{}, nil)
	if len(changes) != 1 {
		t.Fatalf("%d changes, want 1", len(changes))
	}
	same("the change's entry", changes[0].Entry.Snapshot.Plain())
	same("Hosts' entry", f.Hosts(now, nil)[0].Snapshot.Plain())
	e, _, _ := f.Host("web-01", now, 0)
	same("Host's entry", e.Snapshot.Plain())
	same("States' state", f.States(now, nil)[0].Snapshot.Plain())
	f.Each(now, func(v HostView) {
		same("Each's view", v.raw.Plain())
		wantDecoded, _ := snapshot.Decode(want, len(want))
		if got := v.Snapshot(); !reflect.DeepEqual(got, wantDecoded) {
			t.Errorf("the view decodes\n%+v\nwant\n%+v", got, wantDecoded)
		}
	})
	if h := f.hosts["web-01"]; h.snap.Size() >= len(want) {
		t.Errorf("the fleet holds %d bytes for a %d-byte snapshot: not packed", h.snap.Size(), len(want))
	}
}
