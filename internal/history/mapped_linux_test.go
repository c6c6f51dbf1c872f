package history

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mappedKiB is what of the database's memory map is resident in this
// process (its Rss in /proc/self/smaps).
func mappedKiB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatalf("Linux without /proc/self/smaps: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in, kib := false, 0
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) >= 5 && strings.Contains(fields[0], "-") && len(fields[1]) == 4 {
			in = len(fields) >= 6 && fields[len(fields)-1] == path // a mapping's first line
			continue
		}
		var n int
		if in && strings.HasPrefix(line, "Rss:") {
			if _, err := fmt.Sscanf(line, "Rss: %d kB", &n); err == nil {
				kib += n
			}
		}
	}
	return kib
}

// TestStoreLetsGoOfTheMappedPages: the database pages read through bbolt's
// memory map (a seal's, a query's) are not kept in the process's RSS for
// more than a minute: at 10,000 hosts they grew it by a few hundred MiB in
// minutes, towards the size of the database. What was read is still there.
func TestStoreLetsGoOfTheMappedPages(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s := openAt(t, dir, c)
	defer s.Close()
	path := filepath.Join(dir, dbName)
	const hosts = 300
	for i := range 120 {
		now := t0.Add(time.Duration(i) * time.Second)
		c.set(now)
		for h := range hosts {
			s.Add(fmt.Sprintf("host-%03d", h), sampleAt(now))
		}
		s.step(now)
	}
	read := func() int {
		n := 0
		for h := range hosts {
			n += len(s.Recent(fmt.Sprintf("host-%03d", h), 1000))
		}
		return n
	}
	want := read() // reads every host's rows through the map
	if kib := mappedKiB(t, path); kib < 100 {
		t.Fatalf("%d KiB of the database mapped after reading every host: the test reads too little to tell", kib)
	}
	now := t0.Add(3*time.Minute + 5*time.Second)
	c.set(now)
	s.step(now) // seals the second minute; a minute since the pages were last let go
	if kib := mappedKiB(t, path); kib > 8 {
		t.Fatalf("%d KiB of the database still mapped a minute later", kib)
	}
	if got := read(); got != want {
		t.Fatalf("after the pages were let go, %d samples read, want %d", got, want)
	}
}
