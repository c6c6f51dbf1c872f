package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// published is a message as a publisher may send it (spaced, escaped, with
// a key this consumer does not know and a few file systems) and the text
// the fleet must give back: the same, compacted.
func published(t *testing.T, host string, seq uint64) (s *snapshot.Snapshot, msg, want []byte) {
	t.Helper()
	s = snap(host, "i", seq)
	for i := range 6 {
		s.Filesystems = append(s.Filesystems, snapshot.Filesystem{Mountpoint: fmt.Sprintf("/srv/data-%d", i),
			Device: fmt.Sprintf("/dev/mapper/vg0-data%d", i), Fstype: "xfs", Total: 1 << 40, Used: 1 << 39, Free: 1 << 39, Percent: 50})
	}
	enc := body(s)
	msg = append([]byte("{ \"x_newer_key\" : [1, \"\\u00e9 <b>\"],\n\t"), enc[1:]...)
	var c bytes.Buffer
	if err := json.Compact(&c, msg); err != nil {
		t.Fatal(err)
	}
	if d, err := snapshot.Decode(msg, 1<<20); err != nil || d.Seq != seq {
		t.Fatalf("the test's message does not decode: %v", err)
	}
	return s, msg, c.Bytes()
}

// TestSnapshotComesBackAsPublished: every reader of a host's snapshot gets
// the text as published, compacted, byte for byte (not the packed form the
// fleet keeps), and the fleet keeps it in less than the text's size.
func TestSnapshotComesBackAsPublished(t *testing.T) {
	f := New(Config{HistorySize: 4, StaleAfter: 3, OfflineAfter: 10})
	f.Watch(func() {})
	now := time.Now()
	s, b, want := published(t, "web-01", 1)
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
