package collect

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/sensors"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// fakeSys writes a /sys with hwmon devices: each maps a sensor file prefix
// (temp1) to its files' contents.
func fakeSys(t testing.TB, devices map[string]map[string]string) context.Context {
	t.Helper()
	root := t.TempDir()
	for dev, files := range devices {
		dir := filepath.Join(root, "class", "hwmon", dev)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return context.WithValue(context.Background(), common.EnvKey, common.EnvMap{common.HostSysEnvKey: root})
}

// TestTemperaturesFromSysfs: gopsutil's reading of a hwmon tree becomes the
// snapshot's list: named, rounded, sorted, thresholds only where the
// driver gives plausible ones, and a message the consumer accepts.
func TestTemperaturesFromSysfs(t *testing.T) {
	ctx := fakeSys(t, map[string]map[string]string{
		"hwmon0": {"name": "coretemp", "temp1_input": "47125", "temp1_label": "Package id 0", "temp1_max": "80000", "temp1_crit": "100000",
			"temp2_input": "45000", "temp2_label": "Core 0", "temp2_max": "80000", "temp2_crit": "2147483647"},
		"hwmon1": {"name": "nvme", "temp1_input": "39850", "temp1_label": "Composite"},
		"hwmon2": {"name": "bogus", "temp1_input": "-300000"}, // below absolute zero: left out
	})
	tm := &temperatures{read: sensors.TemperaturesWithContext, every: tempEvery}
	s := &snapshot.Snapshot{}
	if err := tm.fill(ctx, time.Now(), s); err != nil {
		t.Fatal(err)
	}
	want := []snapshot.Temperature{
		{Sensor: "coretemp_core_0", Celsius: 45, High: 80},
		{Sensor: "coretemp_package_id_0", Celsius: 47.1, High: 80, Critical: 100},
		{Sensor: "nvme_composite", Celsius: 39.9},
	}
	if !reflect.DeepEqual(s.Temperatures, want) {
		t.Fatalf("temperatures\n got %+v\nwant %+v", s.Temperatures, want)
	}
}

// TestNoSensorsIsNotMissing: a host without sensors (a VM) sends no key
// and no "missing" entry, so that the dashboard does not call it degraded.
func TestNoSensorsIsNotMissing(t *testing.T) {
	ctx := fakeSys(t, nil)
	tm := &temperatures{read: sensors.TemperaturesWithContext, every: tempEvery}
	c := NewWithSources(quiet(), time.Second, staticInfo{platform: "Linux"}, Source{"temperatures", tm.fill})
	tm.at = time.Time{} // the baseline sample read this machine's /sys
	s, err := c.Sample(ctx)
	if err != nil || s.Temperatures != nil || len(s.Missing) != 0 {
		t.Fatalf("temperatures %v missing %v err %v", s.Temperatures, s.Missing, err)
	}
	// A sensor that fails to read is a gopsutil warning: the others count.
	tm.read = func(context.Context) ([]sensors.TemperatureStat, error) {
		return []sensors.TemperatureStat{{SensorKey: "acpitz", Temperature: 27.8}}, &sensors.Warnings{List: []error{errors.New("EIO")}}
	}
	tm.at = time.Time{}
	if s, _ = c.Sample(context.Background()); len(s.Missing) != 0 || len(s.Temperatures) != 1 {
		t.Fatalf("with a warning: temperatures %v missing %v", s.Temperatures, s.Missing)
	}
	// Any other failure is a missing source, as for the others.
	tm.read = func(context.Context) ([]sensors.TemperatureStat, error) { return nil, errors.New("glob failed") }
	tm.at = time.Time{}
	if s, _ = c.Sample(context.Background()); !reflect.DeepEqual(s.Missing, []string{"temperatures"}) {
		t.Fatalf("failing read: missing %v", s.Missing)
	}
}

// TestTemperaturesReadEveryTempEvery: between reads, samples repeat the
// last reading instead of reading the sensors again.
func TestTemperaturesReadEveryTempEvery(t *testing.T) {
	reads := 0
	tm := &temperatures{every: 10 * time.Second, read: func(context.Context) ([]sensors.TemperatureStat, error) {
		reads++
		return []sensors.TemperatureStat{{SensorKey: "cpu", Temperature: float64(40 + reads)}}, nil
	}}
	t0 := time.Now()
	for i, step := range []struct {
		at    time.Duration
		reads int
	}{{0, 1}, {time.Second, 1}, {9 * time.Second, 1}, {10 * time.Second, 2}, {11 * time.Second, 2}, {5 * time.Second, 3}} {
		s := &snapshot.Snapshot{}
		if err := tm.fill(context.Background(), t0.Add(step.at), s); err != nil {
			t.Fatal(err)
		}
		if reads != step.reads || len(s.Temperatures) != 1 || s.Temperatures[0].Celsius != float64(40+reads) {
			t.Fatalf("step %d (+%v): %d reads, %+v; want %d reads", i, step.at, reads, s.Temperatures, step.reads)
		}
	}
}

// TestTemperatureListBounds: over the limit the hottest are kept; names a
// consumer would refuse are left out.
func TestTemperatureListBounds(t *testing.T) {
	var stats []sensors.TemperatureStat
	for i := range snapshot.MaxTemperatures + 10 {
		stats = append(stats, sensors.TemperatureStat{SensorKey: fmt.Sprintf("s%03d", i), Temperature: float64(i)})
	}
	stats = append(stats, sensors.TemperatureStat{SensorKey: "bad\x1bname", Temperature: 500}, sensors.TemperatureStat{Temperature: 500})
	got := temperatureList(stats)
	if len(got) != snapshot.MaxTemperatures || got[0].Sensor != "s010" || got[len(got)-1].Sensor != fmt.Sprintf("s%03d", snapshot.MaxTemperatures+9) {
		t.Fatalf("%d kept, first %+v last %+v", len(got), got[0], got[len(got)-1])
	}
	s := &snapshot.Snapshot{Timestamp: "x", Memory: snapshot.Memory{Total: 1}, Temperatures: got}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestTemperatureListNamesEachSensorOnce: a two-socket machine's two
// coretemp chips name their sensors alike; the consumer refuses a name sent
// twice, so the second is renamed, not the whole snapshot refused.
func TestTemperatureListNamesEachSensorOnce(t *testing.T) {
	stats := []sensors.TemperatureStat{{SensorKey: "coretemp_core_0", Temperature: 40}, {SensorKey: "coretemp_core_0", Temperature: 45},
		{SensorKey: "coretemp_core_0", Temperature: 50}, {SensorKey: "nvme", Temperature: 30}}
	got := temperatureList(stats)
	var names []string
	for _, g := range got {
		names = append(names, fmt.Sprintf("%s=%g", g.Sensor, g.Celsius))
	}
	if want := "coretemp_core_0=40 coretemp_core_0#2=45 coretemp_core_0#3=50 nvme=30"; strings.Join(names, " ") != want {
		t.Errorf("sensors %v, want %s", names, want)
	}
	s := &snapshot.Snapshot{Timestamp: "x", Memory: snapshot.Memory{Total: 1}, Temperatures: got}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkTemperatures is one read of 16 sensors through gopsutil (a
// two-socket server's coretemp); the source does it every tempEvery.
// BenchmarkSample, in the same run, is the baseline: a whole sample.
func BenchmarkTemperatures(b *testing.B) {
	files := map[string]string{"name": "coretemp"}
	for i := 1; i <= 16; i++ {
		files[fmt.Sprintf("temp%d_input", i)] = "45000"
		files[fmt.Sprintf("temp%d_label", i)] = fmt.Sprintf("Core %d", i)
		files[fmt.Sprintf("temp%d_max", i)] = "80000"
		files[fmt.Sprintf("temp%d_crit", i)] = "100000"
	}
	ctx := fakeSys(b, map[string]map[string]string{"hwmon0": files})
	b.ReportAllocs()
	for b.Loop() {
		stats, err := sensors.TemperaturesWithContext(ctx)
		if err != nil || len(temperatureList(stats)) != 16 {
			b.Fatal(len(stats), err)
		}
	}
}
