package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// TestFleetExportsFiguresOfLiveHostsOnly: a host that stopped reporting keeps
// sysmon_host_up 0 and its last-seen time, and none of its last figures, so
// that an alert on its CPU or disk neither fires nor holds on stale values.
func TestFleetExportsFiguresOfLiveHostsOnly(t *testing.T) {
	f := aliveAndDead(t, func(host string) *snapshot.Snapshot {
		return &snapshot.Snapshot{Timestamp: "t", CPUPercent: 97, Memory: snapshot.Memory{Total: 100, Available: 10, Percent: 90},
			Host: host, IntervalSeconds: 1, CPUPerCore: []float64{97}, Load: &snapshot.Load{Load1: 9},
			Filesystems: []snapshot.Filesystem{{Mountpoint: "/", Device: "sda", Fstype: "ext4", Total: 10, Free: 1, Percent: 90}}}
	})
	rec := httptest.NewRecorder()
	FleetHandler(f).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics/fleet", nil))
	var dead []string
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.Contains(line, `host="dead"`) {
			dead = append(dead, line)
		}
	}
	if len(dead) != 2 || !strings.HasPrefix(dead[0], `sysmon_host_up{host="dead"} 0`) ||
		!strings.HasPrefix(dead[1], `sysmon_host_last_seen_timestamp_seconds{host="dead"} `) {
		t.Fatalf("offline host exported %q, want only up 0 and last seen", dead)
	}
	for _, want := range []string{`sysmon_host_up{host="alive"} 1`, `sysmon_cpu_usage_ratio{host="alive"} 0.97`,
		`node_load1{host="alive"} 9`, `node_filesystem_avail_bytes{host="alive",device="sda",fstype="ext4",mountpoint="/"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("live host: no %q in\n%s", want, rec.Body.String())
		}
	}
}

// TestFleetExportsThePrototypeRoot: a prototype message has only its "disk"
// object; its root file system is exported from the fleet's figures, as the
// dashboard shows it.
func TestFleetExportsThePrototypeRoot(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 5, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	s := &snapshot.Snapshot{Timestamp: "t", CPUPercent: 50, Memory: snapshot.Memory{Total: 100, Available: 10, Percent: 90},
		Disk: snapshot.Disk{Total: 200, Used: 50, Free: 150}}
	b, err := snapshot.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if f.Apply(s, b, "proto", time.Now()) != fleet.Accepted {
		t.Fatal("not accepted")
	}
	rec := httptest.NewRecorder()
	FleetHandler(f).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics/fleet", nil))
	for _, want := range []string{`node_filesystem_size_bytes{host="proto",mountpoint="/"} 200`,
		`node_filesystem_avail_bytes{host="proto",mountpoint="/"} 150`, `sysmon_cpu_usage_ratio{host="proto"} 0.5`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("no %q in\n%s", want, rec.Body.String())
		}
	}
	if strings.Contains(rec.Body.String(), `node_load1{host="proto"}`) || strings.Contains(rec.Body.String(), `sysmon_cpus{host="proto"}`) {
		t.Errorf("figures a prototype message does not have were exported:\n%s", rec.Body.String())
	}
}

// TestFleetExportsCounters: the snapshot's cumulative counters come out under
// node_exporter's counter names and types, so that rate() and node_exporter
// dashboards work on fleet data.
func TestFleetExportsCounters(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 5, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	s := &snapshot.Snapshot{Timestamp: "t", CPUPercent: 50, Memory: snapshot.Memory{Total: 100, Available: 10, Percent: 90},
		Host: "h", IntervalSeconds: 1, CPUPerCore: []float64{40, 60},
		CPUSeconds: &snapshot.CPUSeconds{User: []float64{10.5, 20}, Nice: []float64{0, 0}, System: []float64{3, 4},
			Idle: []float64{1000, 990.25}, Iowait: []float64{1, 2}, Irq: []float64{0, 0}, Softirq: []float64{0.5, 0}, Steal: []float64{0, 0}},
		DiskIO: &snapshot.DiskIO{Disks: []snapshot.DiskCounters{{Name: "vda", ReadBytes: 4096, WriteBytes: 8192, Reads: 3, Writes: 7}}},
		Network: &snapshot.Network{Interfaces: []snapshot.Interface{{Name: "eth0", RxBytesTotal: 123456, TxBytesTotal: 654321},
			{Name: "old0"}}}}
	b, err := snapshot.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.Decode(b, 1<<20); err != nil {
		t.Fatal(err)
	}
	if f.Apply(s, b, "", time.Now()) != fleet.Accepted {
		t.Fatal("not accepted")
	}
	rec := httptest.NewRecorder()
	FleetHandler(f).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics/fleet", nil))
	body := rec.Body.String()
	for _, want := range []string{
		"# TYPE node_cpu_seconds_total counter",
		`node_cpu_seconds_total{host="h",cpu="0",mode="user"} 10.5`,
		`node_cpu_seconds_total{host="h",cpu="1",mode="idle"} 990.25`,
		`node_cpu_seconds_total{host="h",cpu="0",mode="softirq"} 0.5`,
		"# TYPE node_network_receive_bytes_total counter",
		`node_network_receive_bytes_total{host="h",device="eth0"} 123456`,
		`node_network_transmit_bytes_total{host="h",device="eth0"} 654321`,
		"# TYPE node_disk_read_bytes_total counter",
		`node_disk_read_bytes_total{host="h",device="vda"} 4096`,
		`node_disk_written_bytes_total{host="h",device="vda"} 8192`,
		`node_disk_reads_completed_total{host="h",device="vda"} 3`,
		`node_disk_writes_completed_total{host="h",device="vda"} 7`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
	if n := strings.Count(body, "node_cpu_seconds_total{"); n != 16 {
		t.Errorf("%d node_cpu_seconds_total series, want 2 cores x 8 modes", n)
	}
	// An interface without counters (a 0.1 publisher) has no counter series:
	// a 0 would read as a counter reset to rate().
	if strings.Contains(body, `node_network_receive_bytes_total{host="h",device="old0"}`) {
		t.Errorf("an interface without counters was exported as 0:\n%s", body)
	}
}

// TestFleetExportsTagsAndTemperatures: one sysmon_host_tag series per tag,
// also while the host is down (tags say what it is), and its sensors while
// it is live, with the marks the sensor gives.
func TestFleetExportsTagsAndTemperatures(t *testing.T) {
	f := aliveAndDead(t, func(host string) *snapshot.Snapshot {
		return &snapshot.Snapshot{Timestamp: "t", CPUPercent: 1, Memory: snapshot.Memory{Total: 100, Available: 10, Percent: 90},
			Host: host, IntervalSeconds: 1, Tags: map[string]string{"role": "db", "env": "prod"},
			Temperatures: []snapshot.Temperature{{Sensor: "coretemp_core_0", Celsius: 45.5, High: 80, Critical: 100}, {Sensor: "nvme", Celsius: 38}}}
	})
	rec := httptest.NewRecorder()
	FleetHandler(f).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics/fleet", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`sysmon_host_tag{host="alive",key="env",value="prod"} 1`, `sysmon_host_tag{host="alive",key="role",value="db"} 1`,
		`sysmon_host_tag{host="dead",key="env",value="prod"} 1`,
		`sysmon_temperature_celsius{host="alive",sensor="coretemp_core_0"} 45.5`, `sysmon_temperature_celsius{host="alive",sensor="nvme"} 38`,
		`sysmon_temperature_high_celsius{host="alive",sensor="coretemp_core_0"} 80`,
		`sysmon_temperature_critical_celsius{host="alive",sensor="coretemp_core_0"} 100`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
	for _, bad := range []string{`sysmon_temperature_celsius{host="dead"`, `sysmon_temperature_high_celsius{host="alive",sensor="nvme"}`} {
		if strings.Contains(body, bad) {
			t.Errorf("%q exported", bad)
		}
	}
}

// aliveAndDead is a fleet of two hosts built by mk: "alive" seen now,
// "dead" an hour ago.
func aliveAndDead(t *testing.T, mk func(host string) *snapshot.Snapshot) *fleet.Fleet {
	t.Helper()
	f := fleet.New(fleet.Config{HistorySize: 5, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	for _, c := range []struct {
		host string
		at   time.Time
	}{{"alive", time.Now()}, {"dead", time.Now().Add(-time.Hour)}} {
		s := mk(c.host)
		b, err := snapshot.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		if f.Apply(s, b, "", c.at) != fleet.Accepted {
			t.Fatal("not accepted")
		}
	}
	return f
}
