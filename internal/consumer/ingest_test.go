package consumer

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/hub"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

func testIngest(t *testing.T) (*Ingest, *fleet.Fleet) {
	t.Helper()
	f := fleet.New(fleet.Config{HistorySize: 10, MaxHosts: 100, StaleAfter: 3, OfflineAfter: 10})
	return NewIngest(f, 1<<20, slog.New(slog.NewTextHandler(io.Discard, nil))), f
}

// TestIngestRefusesRoutingKeysThatAreNoHostName: a prototype message is
// filed under its routing key; one that is not valid UTF-8, holds control
// characters or is too long would reach the dashboard and the label values
// of /metrics/fleet (issue 10: Prometheus rejected the whole scrape), so
// the message is counted invalid and nothing is filed.
func TestIngestRefusesRoutingKeysThatAreNoHostName(t *testing.T) {
	// The prototype's real message (shared/fixtures/prototype-snapshot.json).
	proto := []byte(`{"timestamp":"2026-11-27T03:12:27.663874","cpu_percent":1.0,"memory":{"total":25276510208,"available":24783966208,"percent":1.9},"disk":{"total":270553174016,"used":12690640896,"free":85102653440},"platform":"Linux","platform_release":"6.18.44-fc-v657","processor":""}`)
	for _, key := range []string{"PLAT\xff\xfe", "a\nb", "esc\x1b[31m", "nul\x00", strings.Repeat("k", snapshot.MaxHostLen+1)} {
		in, f := testIngest(t)
		in.Handle(&amqp.Delivery{Body: proto, RoutingKey: key})
		if st := in.Stats(); st.Invalid != 1 || st.Received != 1 {
			t.Errorf("routing key %q: %+v, want it counted invalid", key, st)
		}
		if c := f.Counts(time.Now()); c.Hosts != 0 {
			t.Errorf("routing key %q: %d hosts filed", key, c.Hosts)
		}
	}
	// Good keys, and a sysmon message (whose own host name counts, not
	// the routing key) with a bad one, are filed.
	in, f := testIngest(t)
	in.Handle(&amqp.Delivery{Body: proto, RoutingKey: "legacy-box"})
	in.Handle(&amqp.Delivery{Body: proto, RoutingKey: "Bürorechner"})
	in.Handle(&amqp.Delivery{Body: proto})
	s := &snapshot.Snapshot{Timestamp: "2026-11-27T03:12:27.663874", CPUPercent: 1, Memory: snapshot.Memory{Total: 2, Available: 1, Percent: 50},
		Host: "web-01", InstanceID: "i", Seq: 1}
	body, err := snapshot.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	in.Handle(&amqp.Delivery{Body: body, RoutingKey: "\xff"})
	if st := in.Stats(); st.Invalid != 0 {
		t.Errorf("%+v: a good message counted invalid", st)
	}
	var buf bytes.Buffer
	if err := hub.New(f, hub.Options{}, slog.New(slog.DiscardHandler)).WriteHosts(&buf, time.Now()); err != nil {
		t.Fatal(err)
	}
	hosts := buf.Bytes()
	if !utf8.Valid(hosts) {
		t.Errorf("/api/hosts is not UTF-8: %q", hosts)
	}
	for _, name := range []string{`"legacy-box"`, `"Bürorechner"`, `"prototype"`, `"web-01"`} {
		if !strings.Contains(string(hosts), name) {
			t.Errorf("host %s not filed: %.300s", name, hosts)
		}
	}
}

// TestIngestRefusesHostileBodies: the repros of issue 10 through the
// consumer's own entry point: counted invalid, nothing filed, and a good
// message after them is filed.
func TestIngestRefusesHostileBodies(t *testing.T) {
	in, f := testIngest(t)
	good := func(host string) []byte {
		s := &snapshot.Snapshot{Timestamp: "2026-11-27T03:12:27.663874", CPUPercent: 1.5, Platform: "Linux",
			Memory: snapshot.Memory{Total: 100, Available: 50, Percent: 50}, Disk: snapshot.Disk{Total: 10, Used: 5, Free: 5},
			Host: host, InstanceID: "i-" + host, Seq: 1}
		b, err := snapshot.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := string(good("evil"))
	obj := b[:len(b)-1]
	hostile := map[string]string{
		"invalid UTF-8 in platform": strings.Replace(b, `"platform":"Linux"`, "\"platform\":\"PLAT\xff\xfe\"", 1),
		"case-variant key":          obj + `,"CPU_PERCENT":5}`,
		"repeated key":              strings.Replace(b, `"cpu_percent":1.5`, `"cpu_percent":5000,"cpu_percent":1.5`, 1),
		"disk used over total":      strings.Replace(b, `"used":5`, `"used":777`, 1),
		"9,990-deep array":          obj + `,"x":` + strings.Repeat("[", 9990) + strings.Repeat("]", 9990) + `}`,
	}
	for name, body := range hostile {
		before := in.Stats().Invalid
		in.Handle(&amqp.Delivery{Body: []byte(body)})
		if in.Stats().Invalid != before+1 {
			t.Errorf("%s: not counted invalid", name)
		}
	}
	in.Handle(&amqp.Delivery{Body: good("web-01")})
	if c := f.Counts(time.Now()); c.Hosts != 1 {
		t.Errorf("%d hosts filed, want only the good one", c.Hosts)
	}
}
