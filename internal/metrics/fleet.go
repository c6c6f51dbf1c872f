package metrics

import (
	"bufio"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// fleetFamily is one metric of the fleet exposition.
type fleetFamily struct {
	name, help string
	counter    bool
	samples    []sample
}

// FleetHandler serves the latest figures of every live host, labelled host=,
// under node_exporter's names where its metric means the same thing
// (node_load1, node_memory_MemAvailable_bytes, node_filesystem_avail_bytes…)
// and sysmon_* names for the rates node_exporter leaves to PromQL. One
// Prometheus scraping one consumer sees the whole fleet.
func FleetHandler(f *fleet.Fleet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fams := []*fleetFamily{
			{name: "sysmon_host_up", help: "1 while the host's snapshots arrive on time (live), 0 when stale or offline."},
			{name: "sysmon_host_last_seen_timestamp_seconds", help: "When the consumer last received a snapshot of the host."},
			{name: "sysmon_host_info", help: "Always 1; static facts of the host as labels."},
			{name: "sysmon_host_tag", help: "Always 1; one series per HOST_TAGS pair of the host (key, value), whatever its state. Join on host to group by a tag."},
			{name: "sysmon_cpu_usage_ratio", help: "Share of CPU time busy over the publisher's sampling window, 0 to 1."},
			{name: "sysmon_cpu_core_usage_ratio", help: "Share of one core's time busy, 0 to 1."},
			{name: "sysmon_cpus", help: "Logical CPUs."},
			{name: "node_load1", help: "1m load average."},
			{name: "node_load5", help: "5m load average."},
			{name: "node_load15", help: "15m load average."},
			{name: "node_memory_MemTotal_bytes", help: "Total memory."},
			{name: "node_memory_MemAvailable_bytes", help: "Memory available for new work."},
			{name: "node_memory_SwapTotal_bytes", help: "Total swap."},
			{name: "node_memory_SwapFree_bytes", help: "Free swap."},
			{name: "node_boot_time_seconds", help: "Boot time, from the uptime the host reported."},
			{name: "node_filesystem_size_bytes", help: "File system size."},
			{name: "node_filesystem_avail_bytes", help: "File system space available to unprivileged users."},
			{name: "sysmon_network_receive_bytes_per_second", help: "Bytes received per second."},
			{name: "sysmon_network_transmit_bytes_per_second", help: "Bytes sent per second."},
			{name: "sysmon_disk_read_bytes_per_second", help: "Bytes read per second, all disks."},
			{name: "sysmon_disk_written_bytes_per_second", help: "Bytes written per second, all disks."},
			{name: "sysmon_temperature_celsius", help: "Temperature of a sensor (gopsutil's name: chip_label), read every 30 s."},
			{name: "sysmon_temperature_high_celsius", help: "The sensor's own high mark, where it gives one."},
			{name: "sysmon_temperature_critical_celsius", help: "The sensor's own critical mark, where it gives one."},
			// Counters, for rate() as with node_exporter.
			{name: "node_cpu_seconds_total", help: "Seconds the CPUs spent in each mode.", counter: true},
			{name: "node_network_receive_bytes_total", help: "Network device statistic receive_bytes.", counter: true},
			{name: "node_network_transmit_bytes_total", help: "Network device statistic transmit_bytes.", counter: true},
			{name: "node_disk_read_bytes_total", help: "The total number of bytes read successfully.", counter: true},
			{name: "node_disk_written_bytes_total", help: "The total number of bytes written successfully.", counter: true},
			{name: "node_disk_reads_completed_total", help: "The total number of reads completed successfully.", counter: true},
			{name: "node_disk_writes_completed_total", help: "The total number of writes completed successfully.", counter: true},
		}
		byName := map[string]*fleetFamily{}
		for _, fam := range fams {
			byName[fam.name] = fam
		}
		add := func(name string, v float64, labels ...string) {
			byName[name].samples = append(byName[name].samples, sample{labelString(labels), v})
		}
		f.Each(time.Now(), func(h fleet.HostView) {
			host := h.Name
			up := 0.0
			if h.Status == fleet.Live {
				up = 1
			}
			add("sysmon_host_up", up, "host", host)
			add("sysmon_host_last_seen_timestamp_seconds", float64(h.LastSeen.UnixMilli())/1000, "host", host)
			// Tags say what the host is, not how it is: kept while it is
			// down, so that down hosts can be counted by tag too.
			for _, k := range slices.Sorted(maps.Keys(h.Figures.Tags)) {
				add("sysmon_host_tag", 1, "host", host, "key", k, "value", h.Figures.Tags[k])
			}
			if up == 0 {
				// A stale or offline host's last figures are not its
				// state now: exporting them would keep alerts firing
				// (or silent) on a dead host's values.
				return
			}
			s := h.Snapshot() // decoded for the live hosts only
			add("sysmon_host_info", 1, "host", host, "platform", s.Platform, "release", s.PlatformRelease,
				"processor", s.Processor, "agent_version", s.AgentVersion)
			fig := h.Figures
			add("sysmon_cpu_usage_ratio", fig.CPU/100, "host", host)
			for i, v := range fig.PerCore {
				add("sysmon_cpu_core_usage_ratio", v/100, "host", host, "cpu", strconv.Itoa(i))
			}
			if fig.Cores > 0 {
				add("sysmon_cpus", float64(fig.Cores), "host", host)
			}
			if !math.IsNaN(fig.Load1) {
				add("node_load1", fig.Load1, "host", host)
				add("node_load5", fig.Load5, "host", host)
				add("node_load15", fig.Load15, "host", host)
			}
			add("node_memory_MemTotal_bytes", fig.MemTotal, "host", host)
			add("node_memory_MemAvailable_bytes", float64(s.Memory.Available), "host", host)
			if s.Swap != nil {
				add("node_memory_SwapTotal_bytes", float64(s.Swap.Total), "host", host)
				add("node_memory_SwapFree_bytes", float64(s.Swap.Free), "host", host)
			}
			if !math.IsNaN(fig.Uptime) {
				at := h.LastSeen
				if s.Time != nil {
					at = *s.Time
				}
				add("node_boot_time_seconds", float64(at.Unix())-fig.Uptime, "host", host)
			}
			seen := map[string]bool{}            // a publisher could list a mount twice: one series each
			for _, fs := range fig.Filesystems { // a prototype message's root included
				if seen[fs.Mountpoint] {
					continue
				}
				seen[fs.Mountpoint] = true
				l := []string{"host", host, "device", fs.Device, "fstype", fs.Fstype, "mountpoint", fs.Mountpoint}
				if fs.Device == "" && fs.Fstype == "" {
					l = []string{"host", host, "mountpoint", fs.Mountpoint}
				}
				add("node_filesystem_size_bytes", float64(fs.Total), l...)
				add("node_filesystem_avail_bytes", float64(fs.Free), l...)
			}
			clear(seen)
			for _, i := range fig.Interfaces {
				if seen[i.Name] {
					continue
				}
				seen[i.Name] = true
				add("sysmon_network_receive_bytes_per_second", i.RxBytesPerSec, "host", host, "device", i.Name)
				add("sysmon_network_transmit_bytes_per_second", i.TxBytesPerSec, "host", host, "device", i.Name)
				if i.RxBytesTotal > 0 || i.TxBytesTotal > 0 { // 0.1 publishers send no counters
					add("node_network_receive_bytes_total", float64(i.RxBytesTotal), "host", host, "device", i.Name)
					add("node_network_transmit_bytes_total", float64(i.TxBytesTotal), "host", host, "device", i.Name)
				}
			}
			if t := s.CPUSeconds; t != nil {
				for _, m := range t.Modes() {
					for cpu, v := range m.Values {
						add("node_cpu_seconds_total", v, "host", host, "cpu", strconv.Itoa(cpu), "mode", m.Name)
					}
				}
			}
			clear(seen)
			var disks []snapshot.DiskCounters
			if s.DiskIO != nil {
				disks = s.DiskIO.Disks
			}
			for _, d := range disks {
				if seen[d.Name] {
					continue
				}
				seen[d.Name] = true
				add("node_disk_read_bytes_total", float64(d.ReadBytes), "host", host, "device", d.Name)
				add("node_disk_written_bytes_total", float64(d.WriteBytes), "host", host, "device", d.Name)
				add("node_disk_reads_completed_total", float64(d.Reads), "host", host, "device", d.Name)
				add("node_disk_writes_completed_total", float64(d.Writes), "host", host, "device", d.Name)
			}
			clear(seen)
			for _, t := range fig.Temperatures {
				if seen[t.Sensor] {
					continue
				}
				seen[t.Sensor] = true
				add("sysmon_temperature_celsius", t.Celsius, "host", host, "sensor", t.Sensor)
				if t.High != 0 {
					add("sysmon_temperature_high_celsius", t.High, "host", host, "sensor", t.Sensor)
				}
				if t.Critical != 0 {
					add("sysmon_temperature_critical_celsius", t.Critical, "host", host, "sensor", t.Sensor)
				}
			}
			if !math.IsNaN(fig.Rd) {
				add("sysmon_disk_read_bytes_per_second", fig.Rd, "host", host)
				add("sysmon_disk_written_bytes_per_second", fig.Wr, "host", host)
			}
		})
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		bw := bufio.NewWriterSize(w, 64<<10)
		for _, fam := range fams {
			kind := "gauge"
			if fam.counter {
				kind = "counter"
			}
			writeFamily(bw, fam.name, fam.help, kind, fam.samples)
		}
		bw.Flush()
	})
}

// labelString formats {k="v",…} with the exposition format's escaping.
func labelString(kv []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(escape(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escape(s string) string { return escaper.Replace(s) }
