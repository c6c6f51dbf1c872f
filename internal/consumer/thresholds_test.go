package consumer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestThresholdsRejectWhatBreaksTheDashboard: THRESHOLD_CPU=NaN,NaN used to
// pass and make the state frame unencodable ("config":,), which left every
// dashboard on "connecting". Every bad pair now stops the daemon with file,
// line, key and the expected form.
func TestThresholdsRejectWhatBreaksTheDashboard(t *testing.T) {
	cases := []struct{ line, want string }{
		{"THRESHOLD_CPU=NaN,NaN", "THRESHOLD_CPU: expected two numbers A,B with 0 ≤ A ≤ B ≤ 100 (e.g. 80,95)"},
		{"THRESHOLD_CPU=1,2junk", "THRESHOLD_CPU: expected two numbers"},
		{"THRESHOLD_MEMORY=Inf,Inf", "THRESHOLD_MEMORY: expected two numbers A,B with 0 ≤ A ≤ B ≤ 100 (e.g. 85,95)"},
		{"THRESHOLD_SWAP=90,80", "THRESHOLD_SWAP: expected"},
		{"THRESHOLD_DISK=50,101", "THRESHOLD_DISK: expected"},
		{"THRESHOLD_LOAD=-1,3", "THRESHOLD_LOAD: expected two numbers A,B with 0 ≤ A ≤ B ≤ 1000 (e.g. 1.5,3)"},
		{"THRESHOLD_LOAD=1.5,NaN", "THRESHOLD_LOAD: expected"},
		{"QUEUE_EXPIRES=0.5", "QUEUE_EXPIRES: expected 0 (never) or at least 1s, got 500ms"},
		{"QUEUE_EXPIRES=1e-12", "QUEUE_EXPIRES: expected a duration"},
		{"QUEUE_NAME=amq.sysmon", "QUEUE_NAME: names starting with amq. are reserved"},
		{"QUEUE_BINDING_KEY=" + strings.Repeat("k", 256), "QUEUE_BINDING_KEY: expected a binding key of at most 255 bytes"},
		{"MAX_HOSTS=0", "MAX_HOSTS: expected a whole number from 1"},
		{"MAX_HOSTS=-5", "MAX_HOSTS: expected a whole number from 1"},
		{"HISTORY_SIZE=1e3", "HISTORY_SIZE: expected a whole number"},
		{"QUEUE_PREFETCH=70000", "QUEUE_PREFETCH: expected a whole number from 1 to 65535"},
		{"WS_TICK=5ms", "WS_TICK: expected 0 (each update at once) or from 10ms to 10s, got 5ms"},
		{"WS_TICK=11s", "WS_TICK: expected a duration from 0s to 10s"},
		{"WS_TICK=-1s", "WS_TICK: expected a duration"},
	}
	for _, c := range cases {
		p := filepath.Join(t.TempDir(), "consumer.env")
		if err := os.WriteFile(p, []byte("LOG_LEVEL=info\n"+c.line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadConfig(p, true, noEnv)
		if err == nil || !strings.Contains(err.Error(), p+":2: "+c.want) {
			t.Errorf("%s: got %v", c.line, err)
		}
	}

	p := filepath.Join(t.TempDir(), "consumer.env")
	if err := os.WriteFile(p, []byte("THRESHOLD_CPU=70, 90\nTHRESHOLD_LOAD=0,0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := LoadConfig(p, true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if th := c.Thresholds["cpu"]; th.Warn != 70 || th.Crit != 90 {
		t.Fatalf("cpu thresholds %+v", th)
	}
	if _, err := json.Marshal(c.Thresholds); err != nil {
		t.Fatalf("thresholds do not encode: %v", err)
	}
}

// TestRulesFollowTheSettings: the alert rules that the consumer (and
// sysmon-loadgen serve) check are the settings' thresholds and timings.
func TestRulesFollowTheSettings(t *testing.T) {
	env := map[string]string{"THRESHOLD_CPU": "70,90", "ALERT_FOR": "2m", "ALERT_REPEAT": "1h",
		"HOST_EXPIRE": "48h", "HOST_OFFLINE_MIN": "3m"}
	c, _, err := LoadConfig(filepath.Join(t.TempDir(), "none.env"), false, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rules()
	if r.Thresholds["cpu"] != [2]float64{70, 90} || r.Thresholds["disk"] != [2]float64{c.Thresholds["disk"].Warn, c.Thresholds["disk"].Crit} {
		t.Errorf("thresholds %v, want cpu 70,90 and the disk's defaults", r.Thresholds)
	}
	if r.For != 2*time.Minute || r.Repeat != time.Hour || r.Expire != 48*time.Hour || r.OfflineFloor != 3*time.Minute ||
		r.OfflineAfter != c.Fleet.OfflineAfter {
		t.Errorf("rules %+v, want the settings' timings", r)
	}
}
