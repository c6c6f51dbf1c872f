package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// TestHostTagsReachTheFleet: HOST_TAGS of a real publisher reach the real
// consumer through RabbitMQ, in /api/hosts and /metrics/fleet.
func TestHostTagsReachTheFleet(t *testing.T) {
	url := brokertest.Shared(t)
	pub, cons, host := pair(t, url, Env{"HOST_TAGS": "env=prod, role=db"})
	if code, r := publish(t, pub, http.MethodGet); code != http.StatusOK {
		t.Fatalf("/publish: %d %+v", code, r)
	}
	var e struct {
		Figures struct {
			Tags map[string]string `json:"tags"`
		} `json:"figures"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for cons.GetJSON(t, "/api/hosts?host="+host, &e) != http.StatusOK && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if len(e.Figures.Tags) != 2 || e.Figures.Tags["env"] != "prod" || e.Figures.Tags["role"] != "db" {
		t.Fatalf("tags in /api/hosts: %v, want env=prod role=db", e.Figures.Tags)
	}
	_, m := cons.Get(t, "/metrics/fleet")
	if want := fmt.Sprintf(`sysmon_host_tag{host="%s",key="role",value="db"} 1`, host); !strings.Contains(string(m), want) {
		t.Fatalf("/metrics/fleet has no %s", want)
	}
}

// TestBadHostTagsExits78: a tag a consumer would refuse stops the publisher
// at start, naming the file, the line and the key.
func TestBadHostTagsExits78(t *testing.T) {
	d := Start(t, "sysmon-publisher", Env{"HOST_TAGS": "env=prod,Role=db"})
	select {
	case <-d.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("still running with bad HOST_TAGS")
	}
	if d.ExitCode() != 78 {
		t.Fatalf("exit code %d, want 78", d.ExitCode())
	}
	data, err := os.ReadFile(d.Config)
	if err != nil {
		t.Fatal(err)
	}
	line := 1 + strings.Count(string(data[:strings.Index(string(data), "HOST_TAGS=")]), "\n")
	if out := d.Output(); !strings.Contains(out, fmt.Sprintf(`%s:%d: HOST_TAGS: expected up to 16 key=value pairs`, d.Config, line)) ||
		!strings.Contains(out, `tag key "Role"`) {
		t.Fatalf("the error does not name file, line, key and the tag:\n%s", out)
	}
}
