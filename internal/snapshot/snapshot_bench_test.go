package snapshot

import (
	"fmt"
	"testing"
)

// bigSample is a host of the size the load generator simulates on average:
// 8 cores with their CPU seconds, 2 file systems, 2 interfaces (about 2.2 kB).
func bigSample() *Snapshot {
	s := sample()
	s.CPUCount = 8
	s.CPUPerCore = []float64{12.5, 3.03, 45.1, 0, 7.77, 99.5, 23.4, 1.01}
	secs := func(base float64) []float64 {
		v := make([]float64, len(s.CPUPerCore))
		for i := range v {
			v[i] = base + float64(i)*17.31
		}
		return v
	}
	s.CPUSeconds = &CPUSeconds{User: secs(1203.5), Nice: secs(0.5), System: secs(301.07), Idle: secs(73002.9),
		Iowait: secs(12.3), Irq: secs(0), Softirq: secs(4.2), Steal: secs(0)}
	s.Filesystems = append(s.Filesystems, Filesystem{Mountpoint: "/var/lib/docker", Device: "/dev/nvme1n1p1",
		Fstype: "xfs", Total: 1099511627776, Used: 549755813888, Free: 549755813888, Percent: 50})
	s.Network.Interfaces = append(s.Network.Interfaces, Interface{Name: "eth1", RxBytesPerSec: 1e6, TxBytesPerSec: 4.5e5})
	return s
}

func BenchmarkEncode(b *testing.B) {
	s := bigSample()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	body, _ := Encode(bigSample())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(body, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePrototype(b *testing.B) {
	body := []byte(fmt.Sprintf(`{"timestamp": "2026-11-27T03:12:27.663874", "cpu_percent": 1.5, "memory": {"total": 25276510208, "available": 24783966208, "percent": 1.9}, "disk": {"total": 270553174016, "used": 12690640896, "free": 85102653440}, "platform": "Linux", "platform_release": "%s", "processor": ""}`, "6.1.0"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(body, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}
