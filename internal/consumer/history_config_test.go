package consumer

import (
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/history"
)

// TestHistoryConfig: HISTORY_* default to 1h, 7d, 1y, take days and years,
// all three 0 keep no history (a single one cannot be off: the store
// aggregates each tier from the one below), and nonsense stops the daemon
// with the key named.
func TestHistoryConfig(t *testing.T) {
	c, err := loadText(t, "")
	if want := (history.Retention{Raw: time.Hour, Minute: 7 * day, Hour: year}); err != nil || c.History != want {
		t.Fatalf("defaults %+v (err %v), want %+v", c.History, err, want)
	}
	for content, want := range map[string]history.Retention{
		"HISTORY_RAW=0\nHISTORY_MINUTE=0\nHISTORY_HOUR=0\n":        {},
		"HISTORY_RAW=2h\nHISTORY_MINUTE=30d\nHISTORY_HOUR=2y\n":    {Raw: 2 * time.Hour, Minute: 30 * day, Hour: 2 * year},
		"HISTORY_RAW=600\nHISTORY_MINUTE=1.5d\nHISTORY_HOUR=52w\n": {Raw: 10 * time.Minute, Minute: 36 * time.Hour, Hour: 364 * day},
	} {
		c, err := loadText(t, content)
		if err != nil || c.History != want {
			t.Errorf("%q: %+v (err %v), want %+v", content, c.History, err, want)
		}
	}
	for content, msg := range map[string]string{
		"HISTORY_RAW=soon\n":                    "c.env:1: HISTORY_RAW: expected 0 (off) or a duration from 1m0s to 30d",
		"HISTORY_RAW=1s\n":                      "HISTORY_RAW: expected 0 (off)",
		"HISTORY_HOUR=100y\n":                   "HISTORY_HOUR: expected 0 (off) or a duration from 1d to 20y",
		"HISTORY_MINUTE=-1d\n":                  "HISTORY_MINUTE",
		"HISTORY_MINUTE=NaNd\n":                 "HISTORY_MINUTE",
		"HISTORY_RAW=20d\nHISTORY_MINUTE=7d\n":  "HISTORY_MINUTE: expected at least HISTORY_RAW (20d)",
		"HISTORY_MINUTE=30d\nHISTORY_HOUR=7d\n": "HISTORY_HOUR: expected at least",
		"HISTORY_MINUTE=0\n":                    "HISTORY_MINUTE: a single tier cannot be turned off",
		"HISTORY_RAW=0\nHISTORY_HOUR=0\n":       "HISTORY_RAW: a single tier cannot be turned off",
	} {
		if _, err := loadText(t, content); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want an error with %q", content, err, msg)
		}
	}
	if d := (Config{History: history.Retention{Raw: time.Hour, Minute: 7 * day}}).Describe(); !strings.Contains(d, "7d") || !strings.Contains(d, "0 (off)") {
		t.Errorf("-check-config does not show the retention as configured:\n%s", d)
	}
}
