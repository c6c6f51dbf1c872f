package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/mq"
)

func TestHistogramIsCumulative(t *testing.T) {
	h := newHistogram([]float64{1, 2, 5})
	for _, v := range []float64{0.5, 1, 1.5, 3, 10} {
		h.Observe(v)
	}
	got := map[string]float64{}
	for _, s := range h.samples() {
		got[s.labels] = s.value
	}
	want := map[string]float64{`_bucket{le="1"}`: 2, `_bucket{le="2"}`: 3, `_bucket{le="5"}`: 4,
		`_bucket{le="+Inf"}`: 5, "_count": 5, "_sum": 16}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestLabelEscaping(t *testing.T) {
	got := labelString([]string{"host", "a\"b\\c\nd", "x", "y"})
	if want := `{host="a\"b\\c\nd",x="y"}`; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
}

func TestExposition(t *testing.T) {
	r := New("publisher", `1.0"x`, mq.NewStatus())
	observe := Publisher(r, PublisherSources{
		Published: func() uint64 { return 7 }, Confirmed: func() uint64 { return 6 },
		Dropped: func() uint64 { return 1 }, RateLimited: func() uint64 { return 0 }, Outbox: func() int { return 1 },
		OutboxDisk: func() (bool, uint64, uint64) { return true, 1370, 2 },
	})
	observe(3 * time.Millisecond)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	out := w.Body.String()
	for _, want := range []string{
		"# TYPE sysmon_publisher_snapshots_published_total counter\nsysmon_publisher_snapshots_published_total 7\n",
		`sysmon_build_info{daemon="publisher",version="1.0\"x",`,
		`sysmon_broker_state{state="connecting"} 1`,
		`sysmon_publisher_confirm_latency_seconds_bucket{le="0.005"} 1`,
		"sysmon_publisher_confirm_latency_seconds_count 1\n",
		"# TYPE process_resident_memory_bytes gauge\n",
		"sysmon_publisher_outbox_on_disk 1\n",
		"# TYPE sysmon_publisher_outbox_disk_written_bytes_total counter\nsysmon_publisher_outbox_disk_written_bytes_total 1370\n",
		"sysmon_publisher_outbox_disk_fsyncs_total 2\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	// Every family has its HELP and TYPE once.
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			name := strings.Fields(line)[2]
			if seen[name] {
				t.Errorf("family %s declared twice", name)
			}
			seen[name] = true
		}
	}
}
