package mq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// logBuf collects log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLog() (*slog.Logger, *logBuf) {
	b := &logBuf{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

func msg(i int) *Item {
	return NewItem("host-a", amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent,
		MessageId: fmt.Sprintf("inst-%d", i), AppId: "sysmon-publisher", Type: "sysmon.snapshot", UserId: "host-a",
		Body: []byte(fmt.Sprintf(`{"seq":%d,"pad":%q}`, i, strings.Repeat("x", 1300)))})
}

// persisted opens an outbox on dir and fails the test on error.
func persisted(t *testing.T, dir string, limit int) (*Outbox, int, *logBuf) {
	t.Helper()
	o := NewOutbox(limit)
	log, buf := testLog()
	n, err := o.Persist(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	return o, n, buf
}

// closeJournal is what RunJournal does when its context ends.
func closeJournal(t *testing.T, o *Outbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.RunJournal(ctx); err != nil {
		t.Fatal(err)
	}
}

// confirm takes the oldest message as the publisher does.
func confirm(t *testing.T, o *Outbox) *Item {
	t.Helper()
	it := o.next()
	if it == nil {
		t.Fatal("outbox empty")
	}
	o.ack(it)
	return it
}

func ids(o *Outbox) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, it := range o.items {
		out = append(out, it.Msg.MessageId)
	}
	return out
}

func fileSize(t *testing.T, dir string) int64 {
	t.Helper()
	st, err := os.Stat(filepath.Join(dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestJournalWritesOnlyWhatWaitsPastPersistAfter(t *testing.T) {
	dir := t.TempDir()
	o, _, _ := persisted(t, dir, 10)
	a, b, c := msg(1), msg(2), msg(3)
	for _, it := range []*Item{a, b, c} {
		o.Push(it)
	}
	confirm(t, o) // a: confirmed at once, as while the broker is there
	o.flush(c.queued.Add(PersistAfter/2), false)
	if n := fileSize(t, dir); n != 0 {
		t.Fatalf("wrote %d bytes for messages younger than PersistAfter", n)
	}
	o.flush(c.queued.Add(PersistAfter), false)
	if n := fileSize(t, dir); n == 0 {
		t.Fatal("messages waiting past PersistAfter were not written")
	}
	if got := o.Counters().Stored; got != 2 {
		t.Fatalf("stored = %d, want 2", got)
	}
	// Both confirmed: the file is emptied.
	confirm(t, o)
	confirm(t, o)
	o.flush(time.Now().Add(time.Hour), false)
	if n := fileSize(t, dir); n != 0 {
		t.Fatalf("file holds %d bytes with nothing pending", n)
	}
	closeJournal(t, o)
}

func TestJournalReopenRestoresInOrderWithProperties(t *testing.T) {
	dir := t.TempDir()
	o, _, _ := persisted(t, dir, 10)
	var want []*Item
	for i := 1; i <= 5; i++ {
		it := msg(i)
		want = append(want, it)
		o.Push(it)
	}
	closeJournal(t, o) // writes everything still waiting, whatever its age

	o2, n, _ := persisted(t, dir, 10)
	if n != 5 || o2.Counters().Restored != 5 || o2.Counters().Stored != 5 || o2.Len() != 5 {
		t.Fatalf("restored %d, counters %+v", n, o2.Counters())
	}
	for i, w := range want {
		it := o2.next()
		if it.Key != w.Key || !bytes.Equal(it.Msg.Body, w.Msg.Body) || it.Msg.MessageId != w.Msg.MessageId ||
			it.Msg.ContentType != w.Msg.ContentType || it.Msg.DeliveryMode != w.Msg.DeliveryMode ||
			it.Msg.AppId != w.Msg.AppId || it.Msg.Type != w.Msg.Type || it.Msg.UserId != w.Msg.UserId ||
			!it.queued.Equal(w.queued) {
			t.Fatalf("message %d came back as %+v (key %q), want %+v", i, it.Msg, it.Key, w.Msg)
		}
		o2.ack(it)
	}
	// Confirmed ones are not restored again.
	o2.Push(msg(6))
	closeJournal(t, o2)
	o3, n, _ := persisted(t, dir, 10)
	if n != 1 || ids(o3)[0] != "inst-6" {
		t.Fatalf("third start restored %d: %v, want only inst-6", n, ids(o3))
	}
	closeJournal(t, o3)
}

func TestJournalNewMessagesQueueBehindRestoredOnes(t *testing.T) {
	dir := t.TempDir()
	o, _, _ := persisted(t, dir, 10)
	o.Push(msg(1))
	o.Push(msg(2))
	closeJournal(t, o)
	o2, _, _ := persisted(t, dir, 10)
	o2.Push(msg(3))
	confirm(t, o2) // 1
	o2.flush(time.Now().Add(time.Hour), false)
	// A crash here: no orderly close.
	o2.mu.Lock()
	o2.j.f.Close()
	o2.j.lock.Close()
	o2.mu.Unlock()
	o3, _, _ := persisted(t, dir, 10)
	if got := strings.Join(ids(o3), ","); got != "inst-2,inst-3" {
		t.Fatalf("after a crash: %s, want inst-2,inst-3", got)
	}
	closeJournal(t, o3)
}

func TestJournalBoundedByLimit(t *testing.T) {
	dir := t.TempDir()
	o, _, _ := persisted(t, dir, 3)
	for i := 1; i <= 8; i++ {
		o.Push(msg(i))
		o.flush(time.Now().Add(time.Hour), false) // the broker is away: each is written
	}
	if c := o.Counters(); c.Dropped != 5 || c.Stored != 3 {
		t.Fatalf("counters %+v, want 5 dropped, 3 stored", c)
	}
	closeJournal(t, o)
	o2, n, _ := persisted(t, dir, 3)
	if got := strings.Join(ids(o2), ","); n != 3 || got != "inst-6,inst-7,inst-8" {
		t.Fatalf("restored %d: %s, want the 3 newest", n, got)
	}
	closeJournal(t, o2)
	// OUTBOX_SIZE lowered between runs: the oldest beyond it are dropped, counted.
	o3, n, log := persisted(t, dir, 2)
	if got := strings.Join(ids(o3), ","); n != 2 || got != "inst-7,inst-8" || o3.Counters().Dropped != 1 {
		t.Fatalf("restored %d: %s, counters %+v", n, got, o3.Counters())
	}
	if !strings.Contains(log.String(), "more snapshots on disk than OUTBOX_SIZE") {
		t.Errorf("no log line for the drop: %s", log)
	}
	closeJournal(t, o3)
}

func TestJournalFileStaysBoundedDuringALongOutage(t *testing.T) {
	dir := t.TempDir()
	o, _, _ := persisted(t, dir, 4)
	big := func(i int) *Item {
		it := msg(i)
		it.Msg.Body = bytes.Repeat([]byte{'y'}, 100<<10)
		return it
	}
	var biggest int64
	for i := 1; i <= 200; i++ { // 20 MB written in all, 4 kept
		o.Push(big(i))
		o.flush(time.Now().Add(time.Hour), false)
		biggest = max(biggest, fileSize(t, dir))
	}
	// Live: 4 × 100 kB. Rewritten past 2 × live + 1 MiB.
	if limit := int64(2*4*(100<<10) + compactSlack + 2*(100<<10)); biggest > limit {
		t.Fatalf("the file grew to %d bytes (bound %d)", biggest, limit)
	}
	closeJournal(t, o)
	o2, n, _ := persisted(t, dir, 4)
	if got := strings.Join(ids(o2), ","); n != 4 || got != "inst-197,inst-198,inst-199,inst-200" {
		t.Fatalf("after the rewrites: %d restored: %s", n, got)
	}
	closeJournal(t, o2)
}

func TestJournalDamagedTail(t *testing.T) {
	write3 := func(t *testing.T) string {
		dir := t.TempDir()
		o, _, _ := persisted(t, dir, 10)
		for i := 1; i <= 3; i++ {
			o.Push(msg(i))
		}
		closeJournal(t, o)
		return dir
	}
	path := func(dir string) string { return filepath.Join(dir, JournalFile) }
	cases := []struct {
		name   string
		damage func(t *testing.T, p string)
		want   string
	}{
		{"torn last record", func(t *testing.T, p string) {
			st, _ := os.Stat(p)
			if err := os.Truncate(p, st.Size()-100); err != nil {
				t.Fatal(err)
			}
		}, "inst-1,inst-2"},
		{"torn header", func(t *testing.T, p string) { appendFile(t, p, []byte{0x10, 0, 0}) }, "inst-1,inst-2,inst-3"},
		{"garbage appended", func(t *testing.T, p string) { appendFile(t, p, bytes.Repeat([]byte{0xff}, 50)) }, "inst-1,inst-2,inst-3"},
		{"bit flipped in the second record", func(t *testing.T, p string) {
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0x40
			if err := os.WriteFile(p, b, 0o640); err != nil {
				t.Fatal(err)
			}
		}, "inst-1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := write3(t)
			c.damage(t, path(dir))
			o, _, log := persisted(t, dir, 10)
			if got := strings.Join(ids(o), ","); got != c.want {
				t.Fatalf("restored %s, want %s", got, c.want)
			}
			if n := strings.Count(log.String(), "outbox journal damaged"); n != 1 {
				t.Fatalf("%d log lines about the damage, want 1:\n%s", n, log)
			}
			// The damage is gone from the file: what is appended now is read back.
			o.Push(msg(9))
			closeJournal(t, o)
			o2, _, log2 := persisted(t, dir, 10)
			if got := strings.Join(ids(o2), ","); got != c.want+",inst-9" || strings.Contains(log2.String(), "damaged") {
				t.Fatalf("next start: %s (log %s)", got, log2)
			}
			closeJournal(t, o2)
		})
	}
}

func appendFile(t *testing.T, p string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestJournalUnusableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	o := NewOutbox(10)
	log, _ := testLog()
	if _, err := o.Persist(filepath.Join(file, "outbox"), log); err == nil {
		t.Fatal("Persist under a regular file succeeded")
	}
	// The outbox works in memory as before.
	o.Push(msg(1))
	if o.Len() != 1 || confirm(t, o).Msg.MessageId != "inst-1" {
		t.Fatal("the outbox does not work after a failed Persist")
	}
	closeJournal(t, o)

	// One directory, one process.
	dir := t.TempDir()
	first, _, _ := persisted(t, dir, 10)
	if _, err := NewOutbox(10).Persist(dir, log); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a second Persist on the same directory: %v", err)
	}
	closeJournal(t, first)
}

func TestJournalWriteFailureFallsBackToMemory(t *testing.T) {
	dir := t.TempDir()
	o, _, log := persisted(t, dir, 10)
	o.Push(msg(1))
	o.flush(time.Now().Add(time.Hour), false)
	o.j.f.Close() // the next write fails
	o.Push(msg(2))
	o.flush(time.Now().Add(time.Hour), false)
	o.Push(msg(3))
	o.flush(time.Now().Add(time.Hour), false)
	if n := strings.Count(log.String(), "cannot write the outbox to disk"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, log)
	}
	if got := strings.Join(ids(o), ","); got != "inst-1,inst-2,inst-3" || o.Counters().Stored != 0 {
		t.Fatalf("outbox after the failure: %s, %+v", got, o.Counters())
	}
	if _, err := os.Stat(filepath.Join(dir, JournalFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the abandoned file is still there: %v", err)
	}
	for range 3 {
		confirm(t, o)
	}
	closeJournal(t, o)
	// And the directory is usable again by the next process.
	o2, n, _ := persisted(t, dir, 10)
	if n != 0 {
		t.Fatalf("restored %d from an abandoned journal", n)
	}
	closeJournal(t, o2)
}

func TestRunJournalPersistsAfterDelay(t *testing.T) {
	dir := t.TempDir()
	o, _, _ := persisted(t, dir, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.RunJournal(ctx) }()
	o.Push(msg(1))
	deadline := time.Now().Add(10 * time.Second)
	for o.Counters().Stored != 1 {
		if time.Now().After(deadline) {
			t.Fatal("RunJournal did not write a message waiting past PersistAfter")
		}
		time.Sleep(20 * time.Millisecond)
	}
	confirm(t, o)
	for fileSize(t, dir) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("RunJournal did not empty the file after the confirm")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestJournalCreatesPrivateDirectoryAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "sysmon-publisher") // missing: created
	o, _, _ := persisted(t, dir, 10)
	o.Push(msg(1))
	o.flush(time.Now().Add(time.Hour), false)
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, JournalFile): 0o600} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s has mode %v, want %v", p, st.Mode(), want)
		}
	}
	c := o.Counters()
	if c.Disk != filepath.Join(dir, JournalFile) || c.DiskError != "" || c.DiskSyncs == 0 || c.DiskBytes < 1300 {
		t.Fatalf("counters %+v: want the file, no error, its bytes and fsyncs", c)
	}
	closeJournal(t, o)
}

func TestJournalCountersSayWhyMemoryOnly(t *testing.T) {
	o := NewOutbox(10)
	if c := o.Counters(); c.Disk != "" || c.DiskError != "" {
		t.Fatalf("not asked to persist: %+v", c)
	}
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	log, _ := testLog()
	_, err := o.Persist(file, log)
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("Persist on a regular file: %v (want an error naming it)", err)
	}
	if c := o.Counters(); c.Disk != "" || c.DiskError != err.Error() {
		t.Fatalf("counters %+v: want no file and the error %q", c, err)
	}
}

// TestJournalWriteCost: while the broker is away, each snapshot costs its
// own size plus a few bytes of framing and one fsync; confirming them costs
// a done record per batch and, once none is left, a truncate.
func TestJournalWriteCost(t *testing.T) {
	dir := t.TempDir()
	o, _, _ := persisted(t, dir, 100)
	before := o.Counters()
	const n = 20
	var body int
	for i := 1; i <= n; i++ {
		it := msg(i)
		body += len(it.Msg.Body)
		o.Push(it)
		o.flush(time.Now().Add(time.Hour), false) // each one waited past PersistAfter
	}
	mid := o.Counters()
	perBytes := float64(mid.DiskBytes-before.DiskBytes) / n
	perSyncs := float64(mid.DiskSyncs-before.DiskSyncs) / n
	t.Logf("per snapshot while the broker is away: %.0f bytes (body %d), %.2f fsyncs", perBytes, body/n, perSyncs)
	if perSyncs != 1 || perBytes < float64(body/n) || perBytes > float64(body/n)+200 {
		t.Fatalf("per snapshot: %.1f bytes for a %d-byte body, %.2f fsyncs; want body + framing and 1 fsync", perBytes, body/n, perSyncs)
	}
	for range n {
		confirm(t, o)
	}
	o.flush(time.Now().Add(time.Hour), false)
	end := o.Counters()
	t.Logf("confirming all %d: %d bytes, %d fsyncs", n, end.DiskBytes-mid.DiskBytes, end.DiskSyncs-mid.DiskSyncs)
	if fileSize(t, dir) != 0 || end.DiskSyncs-mid.DiskSyncs != 1 {
		t.Fatalf("after the confirms: file %d bytes, %d fsyncs (want 0 bytes, 1 fsync for the truncate)", fileSize(t, dir), end.DiskSyncs-mid.DiskSyncs)
	}
	closeJournal(t, o)
}

// Several in flight: next hands them out oldest first, up to limit-1; a
// full outbox drops the oldest not in flight; a confirm out of order removes
// the right one; resend hands those still in flight out again, in order.
func TestOutboxInFlightWindow(t *testing.T) {
	o := NewOutbox(4)
	for i := 1; i <= 4; i++ {
		o.Push(msg(i))
	}
	var got []string
	for it := o.next(); it != nil; it = o.next() {
		got = append(got, it.Msg.MessageId)
	}
	if want := []string{"inst-1", "inst-2", "inst-3"}; !slices.Equal(got, want) {
		t.Fatalf("handed out %v, want %v (limit-1)", got, want)
	}
	o.Push(msg(5)) // full: inst-4, the only one not in flight, goes
	if want := []string{"inst-1", "inst-2", "inst-3", "inst-5"}; !slices.Equal(ids(o), want) {
		t.Fatalf("after a push into a full outbox: %v, want %v", ids(o), want)
	}
	if c := o.Counters(); c.Dropped != 1 {
		t.Fatalf("dropped %d, want 1", c.Dropped)
	}
	o.mu.Lock()
	second := o.items[1]
	o.mu.Unlock()
	o.ack(second)
	if it := o.next(); it == nil || it.Msg.MessageId != "inst-5" {
		t.Fatalf("after a confirm, next = %v, want inst-5", it)
	}
	o.resend()
	got = got[:0]
	for it := o.next(); it != nil; it = o.next() {
		got = append(got, it.Msg.MessageId)
	}
	if want := []string{"inst-1", "inst-3", "inst-5"}; !slices.Equal(got, want) {
		t.Fatalf("after resend: %v, want %v", got, want)
	}
}
