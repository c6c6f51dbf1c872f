package mq

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzJournalRead: whatever the file holds (a crash, a disk error, another
// program), opening it never panics, never takes more than it can read,
// and leaves a file that reads back as exactly what was taken over.
func FuzzJournalRead(f *testing.F) {
	var b []byte
	for i := 1; i <= 3; i++ {
		it := msg(i)
		b = appendPut(b, uint64(i), it.queued, it.Key, &it.Msg)
	}
	b = appendDone(b, []uint64{2})
	f.Add(b)
	f.Add(b[:len(b)-3])
	f.Add([]byte{0xff, 0xff, 0xff, 0x03, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, JournalFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		j, pending, _, err := openJournal(dir)
		if err != nil {
			t.Fatal(err)
		}
		j.close()
		j2, again, damage, err := openJournal(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer j2.close()
		if damage != "" || len(again) != len(pending) {
			t.Fatalf("the rewritten file reads back as %d messages (damage %q), want %d", len(again), damage, len(pending))
		}
		for i := range pending {
			p, a := pending[i], again[i]
			if p.id != a.id || p.key != a.key || !bytes.Equal(p.msg.Body, a.msg.Body) || !p.queued.Equal(a.queued) ||
				p.msg.MessageId != a.msg.MessageId || p.msg.UserId != a.msg.UserId || p.msg.DeliveryMode != a.msg.DeliveryMode {
				t.Fatalf("message %d changed through a rewrite: %+v -> %+v", i, p, a)
			}
		}
	})
}

// TestJournalReplayOrderAcrossCrashes: confirmations and new messages
// interleaved over several processes, each ended without an orderly close,
// come back oldest first, without the confirmed ones.
func TestJournalReplayOrderAcrossCrashes(t *testing.T) {
	dir := t.TempDir()
	crash := func(o *Outbox) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.j.f.Close()
		o.j.lock.Close()
	}
	next := 1
	push := func(o *Outbox, n int) {
		for range n {
			o.Push(msg(next))
			next++
		}
		o.flush(time.Now().Add(time.Hour), false)
	}
	o, _, _ := persisted(t, dir, 100)
	push(o, 4) // 1..4
	confirm(t, o)
	confirm(t, o) // 1, 2
	push(o, 2)    // 5, 6
	o.flush(time.Now().Add(time.Hour), false)
	crash(o)
	o, _, _ = persisted(t, dir, 100)
	confirm(t, o) // 3
	push(o, 1)    // 7
	crash(o)      // the done of 3 was written with 7's put
	o, n, _ := persisted(t, dir, 100)
	want := []string{"inst-4", "inst-5", "inst-6", "inst-7"}
	got := ids(o)
	if n != len(want) || len(got) != len(want) {
		t.Fatalf("restored %d: %v, want %v", n, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("restored %v, want %v", got, want)
		}
	}
	closeJournal(t, o)
}
