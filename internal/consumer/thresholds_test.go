package consumer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
