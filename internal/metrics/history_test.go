package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sysmon-dev/sysmon/internal/mq"
)

// TestHistoryMetrics: the store's figures appear under their names, the
// full disk as a 0/1 gauge.
func TestHistoryMetrics(t *testing.T) {
	r := New("consumer", "1", mq.NewStatus())
	full := false
	History(r, func() HistoryFigures {
		return HistoryFigures{Bytes: 4096, Written: 12, Dropped: 3, WriteErrors: 2, DiskFull: full}
	})
	scrape := func() string {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	out := scrape()
	for _, want := range []string{"sysmon_consumer_history_bytes 4096\n", "sysmon_consumer_history_samples_written_total 12\n",
		"sysmon_consumer_history_samples_dropped_total 3\n", "sysmon_consumer_history_write_errors_total 2\n",
		"sysmon_consumer_history_disk_full 0\n", "# TYPE sysmon_consumer_history_disk_full gauge"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	full = true
	if out := scrape(); !strings.Contains(out, "sysmon_consumer_history_disk_full 1\n") {
		t.Errorf("disk full not shown:\n%s", out)
	}
}
