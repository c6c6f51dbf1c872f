package consumer

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/hub"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

const maxMessage = 1 << 20 // MAX_MESSAGE_BYTES default

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// worstCase is a valid message of what costs the consumer most: every
// core, file system and interface the validation allows, every string at
// its longest, numbers written out in full. msg >= 0 gives the file systems
// mount names of their own (each one a string to keep); msg < 0 the same
// names in every message. longNames false keeps the names short (the same
// history values per point, a tenth of the bytes to decode).
func worstCase(t *testing.T, host string, msg int, longNames bool) []byte {
	t.Helper()
	long := func(prefix string, n int) string {
		if !longNames {
			return prefix
		}
		return prefix + strings.Repeat("x", n-len(prefix))
	}
	s := &snapshot.Snapshot{Timestamp: "2026-01-01T00:00:00Z", CPUPercent: 50.123456789012345,
		Memory: snapshot.Memory{Total: 1 << 59, Available: 1 << 58, Percent: 50.123456789012345},
		Disk:   snapshot.Disk{Total: 1 << 59, Used: 1 << 58, Free: 1 << 58}, Platform: long("p", snapshot.MaxStringLen),
		PlatformRelease: long("r", snapshot.MaxStringLen), Processor: long("c", snapshot.MaxStringLen),
		HostID: long("h", snapshot.MaxStringLen), AgentVersion: long("a", snapshot.MaxStringLen),
		Host: host, IntervalSeconds: 2, CPUCount: snapshot.MaxCores, CPUPerCore: make([]float64, snapshot.MaxCPUSecondsCores),
		Network: &snapshot.Network{RxBytesPerSec: 1.123456789012345, TxBytesPerSec: 1.123456789012345},
		DiskIO:  &snapshot.DiskIO{ReadBytesPerSec: 1.123456789012345}}
	// 1,024 cores with their 8 counters each take more than 4,096 cores
	// without (cpu_seconds_total stops at MaxCPUSecondsCores).
	secs := make([]float64, len(s.CPUPerCore))
	for i := range s.CPUPerCore {
		s.CPUPerCore[i] = 12.345678901234567
		secs[i] = 123456789.12345678
	}
	s.CPUSeconds = &snapshot.CPUSeconds{User: secs, Nice: secs, System: secs, Idle: secs, Iowait: secs, Irq: secs, Softirq: secs, Steal: secs}
	for k := 0; k < snapshot.MaxDisks; k++ {
		s.DiskIO.Disks = append(s.DiskIO.Disks, snapshot.DiskCounters{Name: long(fmt.Sprint("sd", k), snapshot.MaxNameLen),
			ReadBytes: 1 << 59, WriteBytes: 1 << 59, Reads: 1 << 59, Writes: 1 << 59})
	}
	for k := 0; k < snapshot.MaxFilesystems; k++ {
		m := fmt.Sprintf("/%d", k)
		if msg >= 0 {
			m = fmt.Sprintf("/%d/%d/", msg, k)
		}
		s.Filesystems = append(s.Filesystems, snapshot.Filesystem{Mountpoint: long(m, snapshot.MaxNameLen),
			Device: long(fmt.Sprint("d", k), snapshot.MaxNameLen), Fstype: long("x", snapshot.MaxNameLen),
			Total: 1 << 59, Used: 1 << 58, Free: 1 << 58, Percent: 50.123456789012345})
	}
	for k := 0; k < snapshot.MaxInterfaces; k++ {
		s.Network.Interfaces = append(s.Network.Interfaces, snapshot.Interface{Name: long(fmt.Sprint("i", k), snapshot.MaxNameLen),
			RxBytesPerSec: 1.123456789012345, TxBytesPerSec: 1.123456789012345, RxBytesTotal: 1 << 59, TxBytesTotal: 1 << 59})
	}
	s.Tags = map[string]string{}
	for k := 0; k < snapshot.MaxTags; k++ {
		key := fmt.Sprint("t", k)
		if longNames {
			key += strings.Repeat("k", snapshot.MaxTagKeyLen-len(key))
		}
		s.Tags[key] = strings.Repeat("v", snapshot.MaxTagValueLen)
	}
	for k := 0; k < snapshot.MaxTemperatures; k++ {
		s.Temperatures = append(s.Temperatures, snapshot.Temperature{Sensor: long(fmt.Sprint("s", k), snapshot.MaxNameLen),
			Celsius: 50.123456789012345, High: 80.123456789012345, Critical: 99.123456789012345})
	}
	b, err := snapshot.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > maxMessage {
		t.Fatalf("worst case is %d bytes, over MAX_MESSAGE_BYTES", len(b))
	}
	if _, err := snapshot.Decode(b, maxMessage); err != nil {
		t.Fatalf("the worst case is not valid: %v", err)
	}
	return b
}

// TestMemoryStaysUnderTheStatedBound feeds worst-case messages through the
// consumer's real path (Ingest: decode, validate, file into the fleet, the
// hub's encoded copy for dashboards) and
// checks that the heap the hosts take stays under the figure README states:
// 1.25 × the budget, max(64 MiB, MAX_HOSTS × (16 KiB + 160 B ×
// HISTORY_SIZE)), plus 4 × MAX_MESSAGE_BYTES (the one host over budget may
// keep its latest snapshot).
func TestMemoryStaysUnderTheStatedBound(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds about 300 MB of messages")
	}
	for _, c := range []struct {
		name              string
		maxHosts, history int
		hosts, msgs       int
		longNames, churn  bool
		maxBytes          int64 // the budget, when not the default
		bound             int64 // the figure README states for this case
	}{
		// One host at its worst: a full 300-point history of 4096 cores
		// and 256 file systems, then the largest valid message (648 KiB)
		// as its latest. (README said 7 MiB before the hub kept its
		// encoded copy for dashboards, about 0.5 MiB more here.)
		{name: "one host", maxHosts: 20000, history: 300, hosts: 1, msgs: 300, longNames: true, bound: 8 << 20},
		// The largest valid messages, each of new mount names: the budget
		// binds.
		{name: "large snapshots", maxHosts: 1000, history: 100, hosts: 70, msgs: 1, longNames: true, churn: true},
		// Most history values per point, full histories: the budget
		// (4 MiB here, to keep the test short) binds, and hosts give up
		// their oldest points to take new ones.
		{name: "long history", maxHosts: 1000, history: 100, hosts: 6, msgs: 100, maxBytes: 4 << 20},
		// MAX_HOSTS small hosts: the fixed cost per host.
		{name: "many hosts", maxHosts: 3000, history: 300, hosts: 3000, msgs: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := fleet.Config{HistorySize: c.history, MaxHosts: c.maxHosts, MaxBytes: c.maxBytes, StaleAfter: 3, OfflineAfter: 10}
			budget := max(int64(c.maxHosts)*fleet.DefaultBytesPerHost(c.history), 64<<20)
			if c.maxBytes > 0 {
				budget = c.maxBytes
			}
			bound := c.bound
			if bound == 0 {
				bound = budget*5/4 + 4*maxMessage
			}
			// Bodies are made once per host (no seq: nothing is a
			// duplicate) unless their mount names change every message.
			bodies := make([][]byte, c.hosts)
			for h := range bodies {
				name := fmt.Sprintf("host-%05d", h)
				if c.name == "many hosts" {
					s := &snapshot.Snapshot{Timestamp: "2026-01-01T00:00:00Z", Memory: snapshot.Memory{Total: 1, Percent: 1},
						Host: name, IntervalSeconds: 2, CPUPerCore: make([]float64, 8),
						Filesystems: []snapshot.Filesystem{{Mountpoint: "/"}, {Mountpoint: "/boot"}}}
					b, err := snapshot.Encode(s)
					if err != nil {
						t.Fatal(err)
					}
					bodies[h] = b
				} else if !c.churn {
					bodies[h] = worstCase(t, name, -1, false)
				}
			}
			before := heapInUse()
			f := fleet.New(cfg)
			// The dashboards' hub keeps each host's latest entry encoded:
			// part of what a host costs the consumer.
			dashboards := hub.New(f, hub.Options{}, slog.New(slog.DiscardHandler))
			in := NewIngest(f, maxMessage, slog.New(slog.DiscardHandler))
			for m := 0; m < c.msgs; m++ {
				for h := 0; h < c.hosts; h++ {
					body := bodies[h]
					if c.churn || (c.longNames && m == c.msgs-1) {
						body = worstCase(t, fmt.Sprintf("host-%05d", h), m, c.longNames)
					}
					in.Handle(&amqp.Delivery{Body: body})
				}
			}
			bodies = nil
			used := heapInUse() - before
			st, counts := in.Stats(), f.Counts(time.Now())
			t.Logf("%s: heap %.1f MiB for %d hosts (accounted %.1f MiB, budget %.1f MiB, bound %.1f MiB); received %d, refused %d",
				c.name, mib(used), counts.Hosts, mib(counts.Bytes), mib(budget), mib(bound), st.Received, st.Refused)
			if st.Invalid != 0 || st.TooLarge != 0 || st.Duplicates != 0 {
				t.Fatalf("worst-case messages were not all taken: %+v", st)
			}
			if used > bound {
				t.Fatalf("the hosts take %.1f MiB of heap, over the stated %.1f MiB", mib(used), mib(bound))
			}
			runtime.KeepAlive(f)
			runtime.KeepAlive(dashboards)
		})
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
