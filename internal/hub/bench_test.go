package hub

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// realistic is a snapshot of the size the load generator simulates.
func realistic(host string) *snapshot.Snapshot {
	now := time.Now()
	return &snapshot.Snapshot{Timestamp: "2026-11-27T03:12:27.663874", CPUPercent: 12.5,
		Memory:   snapshot.Memory{Total: 25276510208, Available: 24783966208, Percent: 1.95, Used: 492544000},
		Disk:     snapshot.Disk{Total: 270553174016, Used: 12690640896, Free: 85102653440},
		Platform: "Linux", PlatformRelease: "6.1.0-28-amd64", Processor: "AMD EPYC 7763 64-Core Processor",
		Schema: 1, Host: host, HostID: "3d1219c7-aaaa-bbbb-cccc-0123456789ab", InstanceID: "5b0e1234-aaaa-4bbb-accc-0123456789ab",
		Time: &now, IntervalSeconds: 1, AgentVersion: "0.1.0", UptimeSeconds: 732, CPUCount: 8,
		CPUPerCore: []float64{12.5, 3.03, 45.1, 0, 7.77, 99.5, 23.4, 1.01},
		Load:       &snapshot.Load{Load1: 0.1, Load5: 0.2, Load15: 0.3},
		Swap:       &snapshot.Swap{Total: 1024, Used: 512, Free: 512, Percent: 50},
		Filesystems: []snapshot.Filesystem{
			{Mountpoint: "/", Device: "/dev/nvme0n1p2", Fstype: "ext4", Total: 270553174016, Used: 12690640896, Free: 85102653440, Percent: 13},
			{Mountpoint: "/var/lib/docker", Device: "/dev/nvme1n1p1", Fstype: "xfs", Total: 1099511627776, Used: 549755813888, Free: 549755813888, Percent: 50}},
		DiskIO:  &snapshot.DiskIO{WriteBytesPerSec: 40960, WriteOpsPerSec: 3},
		Network: &snapshot.Network{RxBytesPerSec: 1234.5, TxBytesPerSec: 99, Interfaces: []snapshot.Interface{{Name: "eth0", RxBytesPerSec: 1234.5, TxBytesPerSec: 99}, {Name: "eth1"}}},
	}
}

// BenchmarkIngest is the consumer's work per message outside the AMQP and
// WebSocket libraries: decode and validate the body, file it into a fleet of
// 1,000 hosts, derive its figures, encode the update and fan it out to 20
// dashboards.
func BenchmarkIngest(b *testing.B) {
	f := fleet.New(fleet.Config{HistorySize: 300, StaleAfter: 3, OfflineAfter: 10})
	h := New(f, Options{}, discard)
	bodies := make([][]byte, 1000)
	snaps := make([]*snapshot.Snapshot, 1000)
	for i := range bodies {
		snaps[i] = realistic(fmt.Sprintf("host-%05d", i))
	}
	subs := make([]*Sub, 20)
	for i := range subs {
		_, subs[i] = h.Subscribe(1<<20, 1<<30, time.Now())
	}
	drain := make(chan struct{})
	defer close(drain)
	for _, s := range subs {
		go func() {
			for {
				select {
				case <-s.Ready():
					s.Take(&Pending{})
				case <-drain:
					return
				}
			}
		}()
	}
	seq := uint64(0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%len(snaps) == 0 {
			b.StopTimer()
			seq++
			for k, s := range snaps {
				s.Seq = seq
				bodies[k], _ = snapshot.Encode(s)
			}
			b.StartTimer()
		}
		body := bodies[i%len(bodies)]
		s, err := snapshot.Decode(body, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if f.Apply(s, body, "", time.Now()) != fleet.Accepted {
			b.Fatal("not accepted")
		}
		i++
	}
}

// BenchmarkState10000 is what a new dashboard costs the consumer with
// 10,000 hosts and full histories: the initial state.
func BenchmarkState10000(b *testing.B) {
	f := fleet.New(fleet.Config{HistorySize: 300, StaleAfter: 3, OfflineAfter: 10})
	now := time.Now()
	for i := range 10000 {
		s := realistic(fmt.Sprintf("host-%05d", i))
		s.InstanceID = "" // no sequence: the same body 300 times fills the history
		body, _ := snapshot.Encode(s)
		for range 300 {
			f.Apply(s, body, "", now)
		}
	}
	h := New(f, Options{}, discard) // takes the hosts as they are
	b.ReportAllocs()
	for b.Loop() {
		state, sub := h.Subscribe(16, 1<<30, now)
		h.Unsubscribe(sub)
		n, _ := state.WriteTo(io.Discard)
		b.SetBytes(n)
	}
}
