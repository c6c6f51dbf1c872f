package consumer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHostExpireConfig: HOST_EXPIRE defaults to 7 days, 0 turns expiry off,
// and a value that is not a duration is refused with file, line and key.
func TestHostExpireConfig(t *testing.T) {
	c, _, err := LoadConfig(filepath.Join(t.TempDir(), "none.env"), false, noEnv)
	if err != nil || c.Fleet.Expire != 7*24*time.Hour {
		t.Fatalf("default HOST_EXPIRE %v (err %v), want 168h", c.Fleet.Expire, err)
	}
	for content, want := range map[string]time.Duration{"HOST_EXPIRE=0\n": 0, "HOST_EXPIRE=36h\n": 36 * time.Hour, "HOST_EXPIRE=600\n": 10 * time.Minute} {
		p := filepath.Join(t.TempDir(), "c.env")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		c, _, err := LoadConfig(p, true, noEnv)
		if err != nil || c.Fleet.Expire != want {
			t.Fatalf("%q: %v (err %v), want %v", content, c.Fleet.Expire, err, want)
		}
	}
	p := filepath.Join(t.TempDir(), "c.env")
	if err := os.WriteFile(p, []byte("MAX_HOSTS=10\nHOST_EXPIRE=soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadConfig(p, true, noEnv); err == nil || !strings.Contains(err.Error(), "c.env:2: HOST_EXPIRE") {
		t.Fatalf("HOST_EXPIRE=soon: %v", err)
	}
}

// TestHostFloorsConfig: the floors of the stale and offline states default to
// 10 s and 60 s, and an offline floor under the stale one is refused.
func TestHostFloorsConfig(t *testing.T) {
	c, _, err := LoadConfig(filepath.Join(t.TempDir(), "none.env"), false, noEnv)
	if err != nil || c.Fleet.StaleFloor != 10*time.Second || c.Fleet.OfflineFloor != time.Minute {
		t.Fatalf("default floors %v, %v (err %v), want 10s, 1m", c.Fleet.StaleFloor, c.Fleet.OfflineFloor, err)
	}
	p := filepath.Join(t.TempDir(), "c.env")
	if err := os.WriteFile(p, []byte("HOST_STALE_MIN=30s\nHOST_OFFLINE_MIN=20s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadConfig(p, true, noEnv); err == nil || !strings.Contains(err.Error(), "HOST_OFFLINE_MIN") {
		t.Fatalf("HOST_OFFLINE_MIN under HOST_STALE_MIN: %v", err)
	}
}

// TestWSTickConfig: WS_TICK defaults to 250ms and 0 sends each update at
// once (bad values: TestThresholdsRejectWhatBreaksTheDashboard).
func TestWSTickConfig(t *testing.T) {
	for content, want := range map[string]time.Duration{"": 250 * time.Millisecond, "WS_TICK=0\n": 0, "WS_TICK=1s\n": time.Second, "WS_TICK=10ms\n": 10 * time.Millisecond} {
		p := filepath.Join(t.TempDir(), "c.env")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		c, _, err := LoadConfig(p, true, noEnv)
		if err != nil || c.Tick != want {
			t.Fatalf("%q: %v (err %v), want %v", content, c.Tick, err, want)
		}
	}
}
