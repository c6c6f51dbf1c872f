package logging

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Under journald every line starts with its syslog priority and carries no
// time or level (the journal has both); loggers derived with With keep it.
func TestJournalFormat(t *testing.T) {
	var b bytes.Buffer
	log := New(&b, slog.LevelDebug, true).With("component", "mq")
	log.Debug("d")
	log.Info("connected", "url", "amqp://mq/")
	log.Warn("slow", "n", 1)
	log.WithGroup("g").Error("broken\nline", "err", "x\ny")
	want := []string{
		`<7>msg=d component=mq`,
		`<6>msg=connected component=mq url=amqp://mq/`,
		`<4>msg=slow component=mq n=1`,
		`<3>msg="broken\nline" component=mq g.err="x\ny"`,
	}
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d (a newline in a value must not start a line):\n%s", len(got), len(want), b.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

// On a terminal the format is slog's text with time and level, and the level
// filters.
func TestTerminalFormat(t *testing.T) {
	var b bytes.Buffer
	log := New(&b, slog.LevelInfo, false)
	log.Debug("hidden")
	log.Info("shown", "k", "v")
	s := b.String()
	if strings.Contains(s, "hidden") || !strings.Contains(s, "level=INFO msg=shown k=v") || !strings.HasPrefix(s, "time=") {
		t.Fatalf("terminal output: %q", s)
	}
}

// Lines written from many goroutines keep their own prefix.
func TestJournalPrefixUnderConcurrency(t *testing.T) {
	var mu sync.Mutex
	var b bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return b.Write(p) })
	log := New(w, slog.LevelDebug, true)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if i%2 == 0 {
					log.Error("e")
				} else {
					log.Info("i")
				}
			}
		}()
	}
	wg.Wait()
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line != "<3>msg=e" && line != "<6>msg=i" {
			t.Fatalf("mixed line %q", line)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// UnderJournald believes JOURNAL_STREAM only when it names stderr itself.
func TestUnderJournald(t *testing.T) {
	var st syscall.Stat_t
	if err := syscall.Fstat(2, &st); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env  string
		want bool
	}{
		{"", false},
		{"garbage", false},
		{fmt.Sprintf("%d:%d", st.Dev, st.Ino), true},
		{fmt.Sprintf("%d:%d", st.Dev, st.Ino+1), false},
	} {
		t.Setenv("JOURNAL_STREAM", c.env)
		if c.env == "" {
			os.Unsetenv("JOURNAL_STREAM")
		}
		if got := UnderJournald(); got != c.want {
			t.Errorf("JOURNAL_STREAM=%q: %v, want %v", c.env, got, c.want)
		}
	}
}
