package fleet

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// fullSnap is a host with every list the figures keep, its strings decoded
// afresh from its own message like a real one's.
func fullSnap(t *testing.T, host string, seq uint64) (*snapshot.Snapshot, []byte) {
	t.Helper()
	s := snap(host, "inst-"+host, seq)
	s.HostID, s.Platform, s.PlatformRelease, s.Processor, s.AgentVersion = "id-"+host, "Linux", "6.8.0-49-generic", "AMD EPYC 7763 64-Core Processor", "0.1.0"
	s.CPUPerCore = []float64{1, 2, 3}
	s.Filesystems = []snapshot.Filesystem{{Mountpoint: "/", Device: "/dev/nvme0n1p1", Fstype: "ext4", Total: 10, Used: 5, Free: 5, Percent: 50},
		{Mountpoint: "/var", Device: "/dev/nvme1n1p1", Fstype: "xfs", Total: 10, Used: 9, Free: 1, Percent: 90}}
	s.Network = &snapshot.Network{Interfaces: []snapshot.Interface{{Name: "eth0", RxBytesPerSec: 1, TxBytesPerSec: 2}}}
	s.Temperatures = []snapshot.Temperature{{Sensor: "k10temp", Celsius: 50, High: 70, Critical: 90}}
	s.Missing = []string{"swap"}
	s.Tags = map[string]string{"role": "web"}
	b := body(s)
	d, err := snapshot.Decode(b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return d, b
}

// TestKeptFiguresAreDerived: the figures the fleet keeps are Derive's, its
// slices at their length, and the strings hosts share are one copy in
// every host; another host's decoded snapshot is left as it was.
func TestKeptFiguresAreDerived(t *testing.T) {
	f := New(Config{HistorySize: 5, MaxHosts: 10, StaleAfter: 3, OfflineAfter: 10})
	now := time.Unix(1000, 0)
	var figs []Figures
	for i, host := range []string{"a", "b", "a"} {
		s, b := fullSnap(t, host, uint64(1+i))
		want := fmt.Sprintf("%+v", Derive(s))
		if f.Apply(s, b, "", now) != Accepted {
			t.Fatalf("%s not accepted", host)
		}
		if got := fmt.Sprintf("%+v", Derive(s)); got != want {
			t.Fatalf("the decoded snapshot changed: %s, was %s", got, want)
		}
		e, _, _ := f.Host(host, now, 0)
		if got := fmt.Sprintf("%+v", e.Figures); got != want {
			t.Fatalf("%s: kept %s, want %s", host, got, want)
		}
		if e.HostID != "id-"+host {
			t.Fatalf("%s: host id %q", host, e.HostID)
		}
		figs = append(figs, e.Figures)
	}
	// The history's mount lists hold the figures' names, not copies.
	_, pts, _ := f.Host("b", now, -1)
	if m := pts[len(pts)-1].Mounts(); len(m) != 2 || unsafe.StringData(m[1]) != unsafe.StringData(figs[0].Filesystems[1].Mountpoint) {
		t.Errorf("the point's mounts %q are not the figures'", m)
	}
	same := func(what, a, b string) {
		if unsafe.StringData(a) != unsafe.StringData(b) {
			t.Errorf("%s: two copies of %q", what, a)
		}
	}
	a, b := &figs[0], &figs[1]
	same("platform", a.Platform, b.Platform)
	same("release", a.PlatformRelease, b.PlatformRelease)
	same("processor", a.Processor, b.Processor)
	same("agent", a.AgentVersion, b.AgentVersion)
	same("disk mount", a.DiskMount, b.DiskMount)
	same("temp sensor", a.TempSensor, b.TempSensor)
	same("missing", a.Missing[0], b.Missing[0])
	same("sensor", a.Temperatures[0].Sensor, b.Temperatures[0].Sensor)
	same("interface", a.Interfaces[0].Name, b.Interfaces[0].Name)
	for i := range a.Filesystems {
		same("mount", a.Filesystems[i].Mountpoint, b.Filesystems[i].Mountpoint)
		same("device", a.Filesystems[i].Device, b.Filesystems[i].Device)
		same("fstype", a.Filesystems[i].Fstype, b.Filesystems[i].Fstype)
	}
	for _, fig := range figs {
		if cap(fig.PerCore) != len(fig.PerCore) || cap(fig.Filesystems) != len(fig.Filesystems) ||
			cap(fig.Interfaces) != len(fig.Interfaces) || cap(fig.Missing) != len(fig.Missing) || cap(fig.Temperatures) != len(fig.Temperatures) {
			t.Errorf("slices with room: cores %d/%d, fs %d/%d, net %d/%d", len(fig.PerCore), cap(fig.PerCore),
				len(fig.Filesystems), cap(fig.Filesystems), len(fig.Interfaces), cap(fig.Interfaces))
		}
	}
}

// TestInternerBounded: new strings at every call fill the table at most to
// maxInterned; it then starts afresh and still returns each string.
func TestInternerBounded(t *testing.T) {
	var in interner
	for i := range 3 * maxInterned {
		s := fmt.Sprint("name-", i)
		if got := in.get(s); got != s {
			t.Fatalf("get(%q) = %q", s, got)
		}
		if len(in) > maxInterned {
			t.Fatalf("%d strings interned", len(in))
		}
	}
	x := in.get(strings.Clone("x"))
	if y := in.get(strings.Clone("x")); unsafe.StringData(x) != unsafe.StringData(y) {
		t.Fatal("a string the table holds was not shared")
	}
}
