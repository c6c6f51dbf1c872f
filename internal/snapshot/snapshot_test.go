package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

// sample is a fully populated snapshot with fixed values.
func sample() *Snapshot {
	tm := time.Date(2026, 11, 27, 3, 12, 27, 663874000, time.UTC)
	return &Snapshot{
		Timestamp: "2026-11-27T03:12:27.663874", CPUPercent: 1.5,
		Memory:   Memory{Total: 25276510208, Available: 24783966208, Percent: 1.95, Used: 492544000},
		Disk:     Disk{Total: 270553174016, Used: 12690640896, Free: 85102653440},
		Platform: "Linux", PlatformRelease: "6.18.44-fc-v657", Processor: "AMD EPYC",
		Schema: 1, Host: "web-01", HostID: "3d1219c7", InstanceID: "5b0e", Seq: 42, Time: &tm,
		IntervalSeconds: 2, AgentVersion: "0.1.0", UptimeSeconds: 732, CPUCount: 2, CPUPerCore: []float64{1, 2},
		CPUSeconds: &CPUSeconds{User: []float64{1203.5, 998.12}, Nice: []float64{0.5, 0}, System: []float64{301.07, 280},
			Idle: []float64{73002.9, 73100.25}, Iowait: []float64{12.3, 9.1}, Irq: []float64{0, 0}, Softirq: []float64{4.2, 3.9}, Steal: []float64{0, 0}},
		Load:        &Load{Load1: 0.1, Load5: 0.2, Load15: 0.3},
		Swap:        &Swap{Total: 1024, Used: 512, Free: 512, Percent: 50},
		Filesystems: []Filesystem{{Mountpoint: "/", Device: "/dev/vda", Fstype: "ext4", Total: 270553174016, Used: 12690640896, Free: 85102653440, Percent: 13}},
		DiskIO: &DiskIO{ReadBytesPerSec: 0, WriteBytesPerSec: 40960, ReadOpsPerSec: 0, WriteOpsPerSec: 3,
			Disks: []DiskCounters{{Name: "vda", ReadBytes: 1043595264, WriteBytes: 5290217472, Reads: 30512, Writes: 190233}}},
		Network: &Network{RxBytesPerSec: 1234.5, TxBytesPerSec: 99, Interfaces: []Interface{{Name: "eth0", RxBytesPerSec: 1234.5, TxBytesPerSec: 99, RxBytesTotal: 98765432109, TxBytesTotal: 1234567890}}},
		Tags:    map[string]string{"env": "prod", "role": "db"},
		Temperatures: []Temperature{{Sensor: "coretemp_package_id_0", Celsius: 48, High: 80, Critical: 100},
			{Sensor: "nvme_composite", Celsius: 39.9}},
	}
}

// TestGolden pins the wire format: a change here is a change for every
// consumer in the field, and must be deliberate (go test -update).
func TestGolden(t *testing.T) {
	got, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	if *update {
		if err := os.WriteFile("testdata/golden.json", pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Fatalf("wire format changed:\n got %s\nwant %s", pretty.Bytes(), want)
	}
}

// jsonKind is the JSON type of v, telling integers from other numbers.
func jsonKind(v any) string {
	switch x := v.(type) {
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return "number"
		}
		return "integer"
	case string:
		return "string"
	case map[string]any:
		return "object"
	}
	return "other"
}

func decodeGeneric(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSysmonMessageKeepsPrototypeKeysAndTypes: an old prototype consumer
// still finds every key it reads, with the type it had.
func TestSysmonMessageKeepsPrototypeKeysAndTypes(t *testing.T) {
	proto, err := os.ReadFile("testdata/prototype-snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	old := decodeGeneric(t, proto)
	body, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	cur := decodeGeneric(t, body)
	compatible := func(want, got string) bool {
		// A Python float such as 1.0 may be written 1 or 1.5: both are numbers.
		return want == got || (want == "number" && got == "integer")
	}
	for k, v := range old {
		g, ok := cur[k]
		if !ok {
			t.Errorf("sysmon message lacks prototype key %q", k)
			continue
		}
		if !compatible(jsonKind(v), jsonKind(g)) {
			t.Errorf("key %q: prototype type %s, sysmon type %s", k, jsonKind(v), jsonKind(g))
		}
		if sub, isObj := v.(map[string]any); isObj {
			gs := g.(map[string]any)
			for sk, sv := range sub {
				if !compatible(jsonKind(sv), jsonKind(gs[sk])) {
					t.Errorf("key %s.%s: prototype type %s, sysmon type %s", k, sk, jsonKind(sv), jsonKind(gs[sk]))
				}
			}
		}
	}
}

func TestDecodePrototypeMessage(t *testing.T) {
	proto, err := os.ReadFile("testdata/prototype-snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Decode(proto, 1<<20)
	if err != nil {
		t.Fatalf("prototype message rejected: %v", err)
	}
	if s.Host != "" || s.CPUPercent != 1.0 || s.Memory.Total != 25276510208 || s.Disk.Free != 85102653440 || s.Platform != "Linux" {
		t.Fatalf("decoded %+v", s)
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	body, _ := Encode(sample())
	s, err := Decode(body, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Encode(s)
	if !bytes.Equal(body, again) {
		t.Fatalf("round trip changed the message:\n%s\n%s", body, again)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := `"timestamp":"t","cpu_percent":1,"memory":{"total":1,"available":1,"percent":1},"disk":{"total":1,"used":0,"free":1},"platform":"Linux","platform_release":"x","processor":""`
	cases := map[string]string{
		"not json":          `hello`,
		"array":             `[1,2]`,
		"wrong type":        `{` + strings.Replace(good, `"cpu_percent":1`, `"cpu_percent":"1"`, 1) + `}`,
		"missing cpu":       `{` + strings.Replace(good, `"cpu_percent":1,`, ``, 1) + `}`,
		"missing memory":    `{` + strings.Replace(good, `"memory":{"total":1,"available":1,"percent":1},`, ``, 1) + `}`,
		"missing timestamp": `{` + strings.Replace(good, `"timestamp":"t",`, ``, 1) + `}`,
		"cpu over 100":      `{` + strings.Replace(good, `"cpu_percent":1`, `"cpu_percent":1000`, 1) + `}`,
		"negative total":    `{` + strings.Replace(good, `"total":1,"available"`, `"total":-1,"available"`, 1) + `}`,
		"control chars":     `{` + good + `,"host":"a\u0007b"}`,
		"long host":         `{` + good + `,"host":"` + strings.Repeat("a", 300) + `"}`,
		"deep nesting":      `{` + good + `,"extra":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
		"too many cores":    `{` + good + `,"cpu_per_core":[` + strings.TrimSuffix(strings.Repeat("1,", MaxCores+1), ",") + `]}`,
		"truncated":         `{` + good,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode([]byte(body), 1<<20); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := Decode([]byte(`{`+good+`}`), 1<<20); err != nil {
		t.Fatalf("the good message was rejected: %v", err)
	}
	// A sample whose memory source failed says so, and is still a snapshot.
	noMem := `{` + strings.Replace(good, `"memory":{"total":1,"available":1,"percent":1}`, `"memory":{"total":0,"available":0,"percent":0}`, 1)
	if _, err := Decode([]byte(noMem+`}`), 1<<20); err == nil {
		t.Fatal("memory of zero bytes accepted without a missing source")
	}
	if _, err := Decode([]byte(noMem+`,"missing":["memory"]}`), 1<<20); err != nil {
		t.Fatalf("a snapshot declaring its memory source missing was rejected: %v", err)
	}
	if _, err := Decode(bytes.Repeat([]byte(" "), 2000), 1000); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("size limit: %v", err)
	}
}

func TestHostileStringsAreKeptAsText(t *testing.T) {
	s := sample()
	s.Host = `<img src=x onerror=alert(1)></script>`
	body, _ := Encode(s)
	if bytes.Contains(body, []byte("<img")) || bytes.Contains(body, []byte("</script>")) {
		t.Fatalf("HTML not escaped in JSON: %s", body)
	}
	d, err := Decode(body, 1<<20)
	if err != nil || d.Host != s.Host {
		t.Fatalf("host %q, %v", d.Host, err)
	}
}

// FuzzDecode: no input crashes the decoder, and whatever it accepts
// re-encodes to a message it accepts again.
func FuzzDecode(f *testing.F) {
	proto, _ := os.ReadFile("testdata/prototype-snapshot.json")
	f.Add(proto)
	body, _ := Encode(sample())
	f.Add(body)
	f.Add([]byte(`{"timestamp":"x","cpu_percent":1e400}`))
	f.Add([]byte(`{"memory":{"percent":null}}`))
	// The rejection classes of issue 10, each on a message that is valid
	// otherwise: the fuzzer mutates from there.
	good := string(body[:len(body)-1])
	for _, extra := range []string{",\"platform\":\"PLAT\xff\xfe\"", `,"CPU_PERCENT":5`, `,"x":"\ud800"`, `,"x":{"a":1,"A":2}`,
		`,"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40), `,"x":"` + strings.Repeat("a", MaxUnknownBytes) + `"`,
		`,"x":{"k":1,"\u212a":2}`, `,"x":"\ud83d\ude00"`} {
		f.Add([]byte(good + extra + "}"))
	}
	f.Add([]byte(strings.Replace(string(body), `"cpu_percent":1.5`, `"cpu_percent":5000`, 1)))
	f.Add([]byte(strings.Replace(string(body), `"rx_bytes_per_sec":1234.5`, `"rx_bytes_per_sec":1e308`, 1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b, 1<<16)
		if err != nil {
			return
		}
		checkAccepted(t, b)
		again, err := Encode(s)
		if err != nil {
			t.Fatalf("accepted but cannot re-encode: %v", err)
		}
		if _, err := Decode(again, 1<<20); err != nil {
			t.Fatalf("re-encoded message rejected: %v\n%s", err, again)
		}
	})
}
