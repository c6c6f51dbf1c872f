package collect

import (
	"context"
	"errors"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/shirou/gopsutil/v4/sensors"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// tempEvery is how often the sensors are read; samples in between repeat
// the last reading. gopsutil's TemperaturesWithContext globs
// /sys/class/hwmon, then reads five files a sensor (name, label, input,
// max, crit, with a stat before each of the last two), and some hwmon
// drivers answer over a slow bus (SMBus, IPMI). BenchmarkTemperatures: 16
// sensors take about 4 ms and 780 allocations, where a whole sample of the
// other sources (BenchmarkSample) takes about 0.3 ms; read every 30 s it
// adds about 0.13 ms a second, less than the other sources at the default
// 2 s interval, for a figure that moves over tens of seconds.
const tempEvery = 30 * time.Second

// temperatures is the "temperatures" source. A host without sensors (most
// VMs and containers) sends no key, which is not a failure.
type temperatures struct {
	read  func(ctx context.Context) ([]sensors.TemperatureStat, error)
	every time.Duration
	at    time.Time
	last  []snapshot.Temperature
}

func newTemperatures() *temperatures {
	return &temperatures{read: sensors.TemperaturesWithContext, every: tempEvery}
}

func (t *temperatures) fill(ctx context.Context, now time.Time, s *snapshot.Snapshot) error {
	if t.at.IsZero() || now.Sub(t.at) >= t.every || now.Before(t.at) {
		stats, err := t.read(ctx)
		// Warnings are sensors that could not be read (some ACPI and
		// hwmon drivers fail on every read): the others are still good,
		// and a host that keeps one broken sensor is not degraded.
		var w *sensors.Warnings
		if err != nil && !errors.As(err, &w) {
			return err
		}
		t.at, t.last = now, temperatureList(stats)
	}
	s.Temperatures = t.last
	return nil
}

// temperatureList keeps what a consumer accepts: named sensors with a
// plausible reading, thresholds only when plausible, sorted by name, each
// name once, and
// at most snapshot.MaxTemperatures of them (the hottest, when a host has
// more).
func temperatureList(stats []sensors.TemperatureStat) []snapshot.Temperature {
	var out []snapshot.Temperature
	mark := func(v float64) float64 {
		if v > 0 && v <= snapshot.MaxCelsius {
			return round1(v)
		}
		return 0 // none, or a driver's placeholder (0x7fffffff millidegrees)
	}
	for _, st := range stats {
		c := round1(st.Temperature)
		if st.SensorKey == "" || snapshot.CheckText("sensor", st.SensorKey, snapshot.MaxNameLen) != nil ||
			!(c >= snapshot.MinCelsius && c <= snapshot.MaxCelsius) {
			continue
		}
		out = append(out, snapshot.Temperature{Sensor: st.SensorKey, Celsius: c, High: mark(st.High), Critical: mark(st.Critical)})
	}
	if len(out) > snapshot.MaxTemperatures {
		sort.SliceStable(out, func(i, j int) bool { return out[i].Celsius > out[j].Celsius })
		out = out[:snapshot.MaxTemperatures]
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Sensor < out[j].Sensor })
	// Two chips of one driver (a two-socket machine's coretemp) name their
	// sensors alike, and a consumer refuses a name sent twice: the second
	// becomes NAME#2, and so on.
	seen := make(map[string]bool, len(out))
	renamed := false
	for i := range out {
		name := out[i].Sensor
		for n := 2; seen[name]; n++ {
			name = out[i].Sensor + "#" + strconv.Itoa(n)
			renamed = true
		}
		out[i].Sensor = name
		seen[name] = true
	}
	if renamed {
		out = slices.DeleteFunc(out, func(t snapshot.Temperature) bool { return len(t.Sensor) > snapshot.MaxNameLen })
		sort.SliceStable(out, func(i, j int) bool { return out[i].Sensor < out[j].Sensor })
	}
	return out
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
