package history

import (
	"log/slog"
	"time"
)

// OpenAt and Step let the external tests (memory_test.go) drive a store on a
// simulated clock, one second at a time, as Run does.
func OpenAt(dir string, ret Retention, log *slog.Logger, now func() time.Time) (*Store, error) {
	return open(dir, ret, log, now)
}

func Step(s *Store, now time.Time) { s.step(now) }
