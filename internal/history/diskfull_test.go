package history

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuf is a log destination safe for concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuf) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuf) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

// A full disk, injected through the store's write seam (every write the
// store makes goes through check first): writes stop with one log line,
// Stats tells, samples are dropped and counted, Add never blocks, and
// writes resume by themselves once the disk has room, on the next retry.
func TestDiskFullStopsWritesAndRecovers(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s, logs := openLogged(t, dir, c)
	defer s.Close()
	var full sync.Mutex
	isFull := true
	s.fault = func(op string) error {
		full.Lock()
		defer full.Unlock()
		if isFull {
			return fmt.Errorf("write %s/wal-0: %w", dir, syscall.ENOSPC)
		}
		return nil
	}
	added := 0
	for i := range 40 {
		now := t0.Add(time.Duration(i) * time.Second)
		c.set(now)
		start := time.Now()
		for h := range 100 {
			s.Add(fmt.Sprintf("h%d", h), sampleAt(now))
			added++
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("100 Adds took %v", d) // a bug, not a speed figure: Add must not wait for the disk
		}
		s.step(now)
	}
	st := s.Stats()
	if !st.DiskFull || !strings.Contains(st.LastError, "no space left on device") {
		t.Fatalf("Stats after a full disk: %+v", st)
	}
	if st.Dropped != uint64(added) || st.Written != 0 {
		t.Fatalf("dropped %d written %d, want %d and 0", st.Dropped, st.Written, added)
	}
	// Retried once 30 s after the first failure, and failed again.
	if st.WriteErrors != 2 {
		t.Fatalf("write errors %d, want 2 (the first and the retry 30 s later)", st.WriteErrors)
	}
	out := logs.String()
	if n := strings.Count(out, "level=ERROR"); n != 1 {
		t.Fatalf("%d error lines, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "no space left on device") || !strings.Contains(out, "dir="+dir) {
		t.Fatalf("the error line names neither the error nor the directory:\n%s", out)
	}

	// Room again: the next retry (30 s after the last failure) writes.
	full.Lock()
	isFull = false
	full.Unlock()
	var back time.Time
	for i := 40; i < 80; i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		c.set(now)
		s.Add("h0", sampleAt(now))
		s.step(now)
		if back.IsZero() && !s.Stats().DiskFull {
			back = now
		}
	}
	if back.IsZero() || back.After(t0.Add(61*time.Second)) {
		t.Fatalf("writes resumed at %v, want by %v", back, t0.Add(61*time.Second))
	}
	if !strings.Contains(logs.String(), "history: writes resumed") {
		t.Fatal("no line says that writes resumed")
	}
	got := rawTimes(t, s, "h0", t0, t0.Add(80*time.Second))
	if len(got) == 0 || got[0] != back.UnixMilli() || len(got) != 80-int(back.Sub(t0)/time.Second) {
		t.Fatalf("after the disk had room: %d samples from %v", len(got), time.UnixMilli(got[0]))
	}
	_ = context.Background()
}

// The same with a real error from the kernel: a child process lowers its
// own RLIMIT_FSIZE (Go ignores SIGXFSZ, so a write past it fails with
// EFBIG) and writes until the log can grow no more.
const fsizeEnv = "HISTORY_FSIZE_DIR"

func TestFileSizeLimitChild(t *testing.T) {
	dir := os.Getenv(fsizeEnv)
	if dir == "" {
		t.Skip("the child of TestFileSizeLimit")
	}
	c := &clock{t: t0}
	s, logs := openLogged(t, dir, c)
	lim := syscall.Rlimit{Cur: 64 << 10, Max: 64 << 10}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		now := t0.Add(time.Duration(i) * time.Second)
		c.set(now)
		for h := range 100 {
			s.Add(fmt.Sprintf("h%d", h), sampleAt(now))
		}
		s.step(now)
	}
	st := s.Stats()
	b, _ := json.Marshal(st)
	fmt.Printf("STATS %s\n", b)
	fmt.Printf("ERRORS %d\n", strings.Count(logs.String(), "level=ERROR"))
	fmt.Printf("LOG %q\n", logs.String())
}

func TestFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileSizeLimitChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), fsizeEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var st Stats
	var errLines int
	for _, l := range strings.Split(string(out), "\n") {
		if j, ok := strings.CutPrefix(l, "STATS "); ok {
			if err := json.Unmarshal([]byte(j), &st); err != nil {
				t.Fatal(err)
			}
		}
		if n, ok := strings.CutPrefix(l, "ERRORS "); ok {
			errLines, _ = strconv.Atoi(n)
		}
	}
	if !st.DiskFull || !strings.Contains(st.LastError, "file too large") || errLines != 1 {
		t.Fatalf("stats %+v, %d error lines\n%s", st, errLines, out)
	}
	if st.Written == 0 || st.Dropped == 0 || st.Written+st.Dropped != 2000 {
		t.Fatalf("written %d + dropped %d, want some of each and 2000 in all", st.Written, st.Dropped)
	}
	// What was written before the disk filled is there.
	c := &clock{t: t0.Add(20 * time.Second)}
	s := openAt(t, dir, c)
	defer s.Close()
	n := 0
	for h := range 100 {
		n += len(s.Recent(fmt.Sprintf("h%d", h), 100))
	}
	if uint64(n) != st.Written {
		t.Fatalf("after reopening: %d samples, %d were written", n, st.Written)
	}
}

// A database that fails while the log still takes writes: one error line,
// not one every 30 s, until a seal goes through.
func TestDatabaseFailureDoesNotFlap(t *testing.T) {
	c := &clock{t: t0}
	s, logs := openLogged(t, t.TempDir(), c)
	defer s.Close()
	var mu sync.Mutex
	broken := true
	s.fault = func(op string) error {
		mu.Lock()
		defer mu.Unlock()
		if broken && op == "commit" {
			return syscall.EIO
		}
		return nil
	}
	for i := range 200 {
		now := t0.Add(time.Duration(i) * time.Second)
		c.set(now)
		s.Add("h", sampleAt(now))
		s.step(now)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !s.Stats().DiskFull || strings.Contains(logs.String(), "resumed") {
		t.Fatalf("%d error lines, disk full %v:\n%s", n, s.Stats().DiskFull, logs.String())
	}
	mu.Lock()
	broken = false
	mu.Unlock()
	for i := 200; i < 300 && s.Stats().DiskFull; i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		c.set(now)
		s.Add("h", sampleAt(now))
		s.step(now)
	}
	if s.Stats().DiskFull || !strings.Contains(logs.String(), "writes resumed") {
		t.Fatalf("the database works again, yet: %+v", s.Stats())
	}
}

// A database write that failed (the events' here) is retried 30 s later
// with the latest entries, a real write: the store says it resumed then,
// not at the next minute's seal, up to a minute later.
func TestDatabaseRecoversAtTheRetry(t *testing.T) {
	c := &clock{t: t0}
	s, logs := openLogged(t, t.TempDir(), c)
	defer s.Close()
	s.fault = func(op string) error {
		if op == "events" {
			return syscall.EFBIG
		}
		return nil
	}
	s.AddEvent(Event{T: t0, Host: "h", Kind: EventOnline})
	s.Add("h", sampleAt(t0))
	s.step(t0)
	if !s.Stats().DiskFull {
		t.Fatalf("the events' write failed, yet: %+v", s.Stats())
	}
	s.fault = nil
	// The same minute throughout: no seal is due.
	for i := 1; i <= 32; i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		c.set(now)
		s.Add("h", sampleAt(now))
		s.SaveLatest("h", Latest{Body: []byte(`{"x":1}`), LastSeen: now})
		s.step(now)
		if full := s.Stats().DiskFull; full != (now.Before(t0.Add(retryAfter))) {
			t.Fatalf("%v after the failure: disk full %v", now.Sub(t0), full)
		}
	}
	if !strings.Contains(logs.String(), "writes resumed") {
		t.Errorf("no line says the writes resumed:\n%s", logs.String())
	}
}

// openLogged opens a store in dir on c's clock, its log lines in logs.
func openLogged(t *testing.T, dir string, c *clock) (*Store, *syncBuf) {
	t.Helper()
	logs := &syncBuf{}
	s, err := open(dir, defRet, slog.New(slog.NewTextHandler(logs, nil)), c.now)
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}
