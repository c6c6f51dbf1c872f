package snapshot

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func randomSnapshot(r *rand.Rand) *Snapshot {
	strs := []string{"", "web-01", "<b>&\"\\", "tab\tnl\n\x01\x7f", "é\u2028\u2029", "\xff\xfe", "/var/lib/docker"}
	str := func() string { return strs[r.IntN(len(strs))] }
	floats := []float64{0, 1, -1, 1.5, 0.1, 1e-7, 1.234e-9, 1e21, 1e20, 123456789.125, math.MaxFloat64, 5e-324, math.Copysign(0, -1)}
	fl := func() float64 {
		if r.IntN(3) == 0 {
			return r.NormFloat64() * math.Pow(10, float64(r.IntN(30)-10))
		}
		return floats[r.IntN(len(floats))]
	}
	u := func() uint64 {
		if r.IntN(2) == 0 {
			return 0
		}
		return r.Uint64() >> r.IntN(64)
	}
	s := &Snapshot{Timestamp: str(), CPUPercent: fl(), Memory: Memory{Total: u(), Available: u(), Percent: fl(), Used: u()},
		Disk: Disk{Total: u(), Used: u(), Free: u()}, Platform: str(), PlatformRelease: str(), Processor: str(),
		Schema: r.IntN(3) - 1, Host: str(), HostID: str(), InstanceID: str(), Seq: u(), IntervalSeconds: fl(),
		AgentVersion: str(), UptimeSeconds: u(), CPUCount: r.IntN(5) - 1, Goodbye: r.IntN(2) == 0}
	if r.IntN(2) == 0 {
		t := time.Unix(r.Int64N(1<<33), r.Int64N(1e9)).In(time.FixedZone("x", (r.IntN(48)-24)*1800))
		s.Time = &t
	}
	for range r.IntN(4) {
		s.CPUPerCore = append(s.CPUPerCore, fl())
	}
	if r.IntN(2) == 0 {
		s.CPUPerCore = []float64{}
	}
	if r.IntN(2) == 0 {
		n := len(s.CPUPerCore)
		vals := func() []float64 {
			v := make([]float64, n)
			for i := range v {
				v[i] = fl()
			}
			return v
		}
		s.CPUSeconds = &CPUSeconds{vals(), vals(), vals(), vals(), vals(), vals(), vals(), vals()}
	}
	if r.IntN(2) == 0 {
		s.Load = &Load{fl(), fl(), fl()}
	}
	if r.IntN(2) == 0 {
		s.Swap = &Swap{u(), u(), u(), fl()}
	}
	for range r.IntN(3) {
		s.Filesystems = append(s.Filesystems, Filesystem{str(), str(), str(), u(), u(), u(), fl()})
	}
	if r.IntN(2) == 0 {
		s.DiskIO = &DiskIO{fl(), fl(), fl(), fl(), nil}
		for range r.IntN(3) {
			s.DiskIO.Disks = append(s.DiskIO.Disks, DiskCounters{str(), u(), u(), u(), u()})
		}
	}
	if r.IntN(2) == 0 {
		s.Network = &Network{RxBytesPerSec: fl(), TxBytesPerSec: fl()}
		for range r.IntN(3) {
			s.Network.Interfaces = append(s.Network.Interfaces, Interface{str(), fl(), fl(), u(), u()})
		}
	}
	for range r.IntN(3) {
		s.Missing = append(s.Missing, str())
	}
	if r.IntN(2) == 0 {
		s.Tags = map[string]string{}
		for range r.IntN(3) {
			s.Tags[[]string{"env", "role", "Env", "é", ""}[r.IntN(5)]] = str()
		}
	}
	for range r.IntN(3) {
		s.Temperatures = append(s.Temperatures, Temperature{str(), fl(), fl(), fl()})
	}
	return s
}

// TestEncodeRandomSnapshots: whatever Encode writes (hostile strings, extreme
// numbers, absent sections), the consumer's fast decoder reads as
// encoding/json does (TestDecodeFastAgrees checks that it takes the common
// case).
func TestEncodeRandomSnapshots(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		s := randomSnapshot(r)
		body, err := Encode(s)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", s, err)
		}
		checkFast(t, body)
		if !json.Valid(body) {
			t.Fatalf("Encode wrote invalid JSON: %s", body)
		}
	}
}

// TestEncodeRefusesWhatJSONCannotHold: NaN, infinities and years past 9999
// are an error, not a broken message.
func TestEncodeRefusesWhatJSONCannotHold(t *testing.T) {
	nan := sample()
	nan.Load.Load5 = math.NaN()
	inf := sample()
	inf.CPUPerCore[1] = math.Inf(1)
	far := sample()
	y := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	far.Time = &y
	for name, s := range map[string]*Snapshot{"NaN": nan, "Inf": inf, "year 10000": far} {
		if b, err := Encode(s); err == nil {
			t.Errorf("%s: encoded as %s", name, b)
		}
	}
}
