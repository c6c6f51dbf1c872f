// Package snapshottest gives tests of the consumer's packages the messages
// they feed it: what a publisher may send, beside what the consumer must
// give back of it.
package snapshottest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// Published adds six file systems to s and returns it as a publisher may
// send it (spaced, escaped, with a key this consumer does not know), and
// the text the consumer must give back for it wherever it hands the
// snapshot on: the same, compacted.
func Published(t testing.TB, s *snapshot.Snapshot) (msg, want []byte) {
	t.Helper()
	for i := range 6 {
		s.Filesystems = append(s.Filesystems, snapshot.Filesystem{Mountpoint: fmt.Sprintf("/srv/data-%d", i),
			Device: fmt.Sprintf("/dev/mapper/vg0-data%d", i), Fstype: "xfs", Total: 1 << 40, Used: 1 << 39, Free: 1 << 39, Percent: 50})
	}
	enc, err := snapshot.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	msg = append([]byte("{ \"x_newer_key\" : [1, \"\\u00e9 <b>\"],\n\t"), enc[1:]...)
	var c bytes.Buffer
	if err := json.Compact(&c, msg); err != nil {
		t.Fatal(err)
	}
	if d, err := snapshot.Decode(msg, 1<<20); err != nil || d.Seq != s.Seq {
		t.Fatalf("the test's message does not decode: %v", err)
	}
	return msg, c.Bytes()
}
