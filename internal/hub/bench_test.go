package hub

import (
	"fmt"
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
		_, subs[i] = h.Subscribe(1<<20, 1<<30, false, time.Now())
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

// BenchmarkState is what a new dashboard costs the consumer: the initial
// state of 10,000 hosts with full histories, and of 100,000 hosts (one
// point each: the state holds only the latest), written to a sink that
// copies it, as into a socket buffer. It
// reports the frame's size (MiB/state); ns/op is its time.
func BenchmarkState(b *testing.B) {
	for _, c := range []struct{ hosts, points int }{{10000, 300}, {100000, 1}} {
		b.Run(fmt.Sprintf("hosts=%d", c.hosts), func(b *testing.B) {
			f := fleet.New(fleet.Config{HistorySize: 300, MaxHosts: c.hosts, StaleAfter: 3, OfflineAfter: 10})
			now := time.Now()
			for i := range c.hosts {
				s := realistic(fmt.Sprintf("host-%06d", i))
				s.InstanceID = "" // no sequence: the same body fills the history
				body, _ := snapshot.Encode(s)
				for range c.points {
					f.Apply(s, body, "", now)
				}
			}
			h := New(f, Options{}, discard) // takes the hosts as they are
			b.ReportAllocs()
			var n int64
			var out sink // as a socket would, it copies the frame
			for b.Loop() {
				state, sub := h.Subscribe(16, 1<<30, false, now)
				h.Unsubscribe(sub)
				n, _ = state.WriteTo(&out)
			}
			b.ReportMetric(float64(n)/(1<<20), "MiB/state")
		})
	}
}

// sink stands for a socket: it copies what it is given (the kernel's copy
// into the socket buffer; not the system call) and counts the writes.
type sink struct {
	buf          [64 << 10]byte
	at           int
	bytes, calls int64
}

func (s *sink) Write(p []byte) (int, error) {
	n := len(p)
	s.bytes += int64(n)
	s.calls++
	for len(p) > 0 {
		if s.at == len(s.buf) {
			s.at = 0
		}
		k := copy(s.buf[s.at:], p)
		s.at += k
		p = p[k:]
	}
	return n, nil
}

// BenchmarkFanout is the cost of the dashboards per tick (WS_TICK 250ms) at
// 1,000 hosts sending at 1 Hz: 250 hosts change per tick; the hub encodes
// them once and every dashboard takes its frame (lean entries) and writes
// it (to a sink that copies it, as into a socket buffer; the system call
// and the goroutine's wake-up, one per frame, are not counted). tick=0 is
// the same traffic sent update by update to dashboards that keep up, as
// before the tick. Filing the 250 snapshots (fleet.Apply, decoded
// beforehand) is included in both.
func BenchmarkFanout(b *testing.B) {
	const hosts, perTick = 1000, 250
	for _, dashboards := range []int{100, 1000} {
		for _, tick := range []time.Duration{250 * time.Millisecond, 0} {
			b.Run(fmt.Sprintf("dashboards=%d/tick=%v", dashboards, tick), func(b *testing.B) {
				f := fleet.New(fleet.Config{HistorySize: 300, StaleAfter: 3, OfflineAfter: 10})
				h := New(f, Options{Tick: tick}, discard)
				raw := make([]*snapshot.Snapshot, hosts)
				snaps := make([]*snapshot.Snapshot, hosts)
				bodies := make([][]byte, hosts)
				for i := range raw {
					raw[i] = realistic(fmt.Sprintf("host-%05d", i))
				}
				subs := make([]*Sub, dashboards)
				for i := range subs {
					_, subs[i] = h.Subscribe(1024, 1<<30, false, time.Now())
				}
				var p Pending
				var out sink
				frames := int64(0)
				write := func() {
					for _, s := range subs {
						s.Take(&p)
						if p.Len() > 0 {
							frames++
							if err := p.WriteFrame(&out); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
				b.ReportAllocs()
				seq, next := uint64(0), 0
				for b.Loop() {
					if next == 0 {
						b.StopTimer()
						seq++
						for k, s := range raw {
							s.Seq = seq
							bodies[k], _ = snapshot.Encode(s)
							snaps[k], _ = snapshot.Decode(bodies[k], 1<<20)
						}
						b.StartTimer()
					}
					for range perTick {
						f.Apply(snaps[next], bodies[next], "", time.Now())
						if tick == 0 {
							write() // each update as it is filed (the fleet's notification flushed it)
						}
						next = (next + 1) % hosts
					}
					if tick > 0 {
						h.tick()
						write()
					}
				}
				n := float64(b.N)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n/float64(dashboards)/1e3, "µs/dashboard/tick")
				b.ReportMetric(float64(frames)/n/float64(dashboards), "frames/dashboard/tick")
				b.ReportMetric(float64(out.bytes)/n/float64(dashboards)/1024, "KiB/dashboard/tick")
				b.ReportMetric(float64(out.calls)/n/float64(dashboards), "writes/dashboard/tick")
			})
		}
	}
}
