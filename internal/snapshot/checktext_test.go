package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// slowly returns body with an escape in a string, which the fast decoder
// leaves to encoding/json: the same message through the other path.
func slowly(t *testing.T, body []byte) []byte {
	t.Helper()
	b := bytes.Replace(body, []byte(`"platform":"Linux"`), []byte(`"platform":"\u004cinux"`), 1)
	if bytes.Equal(b, body) {
		t.Fatalf("no platform Linux in %s", body)
	}
	return b
}

// decodeBoth decodes body through the fast path and, rewritten, through
// encoding/json; it fails the test if the two disagree on acceptance.
func decodeBoth(t *testing.T, body []byte) error {
	t.Helper()
	_, errFast := Decode(body, 1<<20)
	_, errSlow := Decode(slowly(t, body), 1<<20)
	if (errFast == nil) != (errSlow == nil) {
		t.Fatalf("the two decoding paths disagree: fast %v, encoding/json %v", errFast, errSlow)
	}
	return errFast
}

// TestDecodeRejectsHostileText: every way for a message's text to read
// differently to encoding/json, a browser and a Python client is refused,
// on the encoding/json path (the fast path never takes such text: it checks
// nothing of it itself and would hand it over).
func TestDecodeRejectsHostileText(t *testing.T) {
	good, _ := Encode(sample())
	obj := string(good[:len(good)-1]) // without the closing brace, to add keys
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	cases := []struct{ name, body, why string }{
		{"invalid UTF-8 in platform", strings.Replace(string(good), `"platform":"Linux"`, "\"platform\":\"PLAT\xff\xfe\"", 1), "UTF-8"},
		{"invalid UTF-8 in an unknown value", obj + ",\"extra\":\"a\xffb\"}", "UTF-8"},
		{"invalid UTF-8 in an unknown key", obj + ",\"ex\xfftra\":1}", "UTF-8"},
		{"invalid UTF-8 deep in an unknown object", obj + ",\"extra\":{\"a\":[\"\xc3\"]}}", "UTF-8"},
		{"UTF-8 of a surrogate", obj + ",\"extra\":\"\xed\xa0\x80\"}", "UTF-8"},
		{"overlong UTF-8", obj + ",\"extra\":\"\xc0\xaf\"}", "UTF-8"},
		{"invalid UTF-8 outside strings", obj + ",\"extra\":1\xff}", "expected"},
		{"lone high surrogate escape", strings.Replace(string(good), `"processor":"AMD EPYC"`, `"processor":"\ud800"`, 1), "surrogate"},
		{"lone low surrogate escape", obj + `,"extra":"\udc00"}`, "surrogate"},
		{"high surrogate then a letter", obj + `,"extra":"\ud800\u0041"}`, "surrogate"},
		{"high surrogate at the end", obj + `,"extra":"\ud83d"}`, "surrogate"},
		{"surrogate escape in a key", obj + `,"\udfff":1}`, "surrogate"},
		{"repeated key", obj + `,"cpu_percent":5}`, "repeated"},
		{"case variant of a known key", obj + `,"CPU_PERCENT":5}`, "repeated"},
		{"escaped repeat of a key", obj + `,"cpu\u005fpercent":5}`, "repeated"},
		{"repeat in a nested object", strings.Replace(string(good), `"percent":1.95`, `"percent":1.95,"Percent":-50`, 1), "repeated"},
		{"repeat in an array element", strings.Replace(string(good), `"fstype":"ext4"`, `"fstype":"ext4","FSTYPE":"x"`, 1), "repeated"},
		{"repeat in an unknown object", obj + `,"extra":{"a":1,"A":2}}`, "repeated"},
		{"Kelvin sign folds to k", obj + `,"extra":{"k":1,"\u212a":2}}`, "repeated"},
		{"repeat among many unknown keys", obj + `,"extra":{` + manyKeys(40) + `,"k7":0}}`, "repeated"},
		{"known key in another case only", strings.Replace(string(good), `"cpu_percent"`, `"CPU_Percent"`, 1), `the key is "cpu_percent"`},
		{"nested known key in another case only", strings.Replace(string(good), `"load1"`, `"LOAD1"`, 1), `the key is "load1"`},
		{"9,990-deep array under an unknown key", obj + `,"extra":` + deep(9990) + `}`, "nesting"},
		{"33 deep", obj + `,"extra":` + deep(MaxDepth) + `}`, "nesting"},
		{"deep objects", obj + `,"extra":` + strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40) + `}`, "nesting"},
		{"overlong number", strings.Replace(string(good), `"cpu_percent":1.5`, `"cpu_percent":1.5`+strings.Repeat("0", MaxNumberLen), 1), "number"},
		{"overlong unknown number", obj + `,"extra":` + strings.Repeat("1", MaxNumberLen+1) + `}`, "number"},
		{"unknown keys too large", obj + `,"extra":"` + strings.Repeat("a", MaxUnknownBytes) + `"}`, "unknown keys"},
		{"many small unknown keys", obj + `,` + manyKeys(MaxUnknownBytes/8) + `}`, "unknown keys"},
		{"unknown key inside a known object", strings.Replace(string(good), `"load1":0.1`, `"load1":0.1,"pad":"`+strings.Repeat("a", MaxUnknownBytes)+`"`, 1), "unknown keys"},
		{"data after the object", string(good) + `{}`, "after"},
		{"raw control character", obj + ",\"extra\":\"a\x01\"}", "control"},
		{"invalid escape", obj + `,"extra":"\x"}`, "escape"},
		{"truncated", obj, "expected"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := []byte(c.body)
			if decodeFast(body, &Snapshot{}) {
				t.Fatal("the fast path took it")
			}
			err := checkText(body)
			if err == nil || !strings.Contains(err.Error(), c.why) {
				t.Fatalf("checkText: %v, want an error about %q", err, c.why)
			}
			if _, err := Decode(body, 1<<20); err == nil {
				t.Fatal("Decode accepted it")
			}
		})
	}
	// What is allowed around those limits still is.
	for name, body := range map[string]string{
		"pair of surrogate escapes": obj + `,"extra":"\ud83d\ude00 \u00e9\u20ac"}`,
		"UTF-8 of all lengths":      obj + ",\"extra\":\"\u00e9\u20ac\U0001f600\ufffd\"}",
		"32 deep":                   obj + `,"extra":` + deep(MaxDepth-1) + `}`,
		"unknown keys at the limit": obj + `,"extra":"` + strings.Repeat("a", MaxUnknownBytes-len(`"extra":""`)) + `"}`,
		"distinct unknown keys":     obj + `,"extra":{` + manyKeys(100) + `},"Extra2":{"k":1},"extra3":[{"k":1},{"k":2}]}`,
		"escaped keys":              strings.Replace(string(good), `"host"`, `"h\u006fst"`, 1),
		"whitespace":                " \n" + strings.ReplaceAll(string(good), ",", " ,\r\n\t") + "\n",
	} {
		if err := checkText([]byte(body)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := Decode([]byte(body), 1<<20); err != nil {
			t.Errorf("%s: Decode: %v", name, err)
		}
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":0`)
	}
	return b.String()
}

// TestValidateRanges: every figure the dashboard shows is checked, on both
// decoding paths; each case is a valid sample with one thing wrong.
func TestValidateRanges(t *testing.T) {
	long := strings.Repeat("a", MaxNameLen+1)
	cases := map[string]func(s *Snapshot){
		"cpu 5000":                           func(s *Snapshot) { s.CPUPercent = 5000 },
		"cpu negative":                       func(s *Snapshot) { s.CPUPercent = -1 },
		"cpu just over the limit":            func(s *Snapshot) { s.CPUPercent = MaxPercent + 0.01 },
		"core over 100":                      func(s *Snapshot) { s.CPUPerCore[1] = 101 },
		"core negative":                      func(s *Snapshot) { s.CPUPerCore[0] = -0.5 },
		"memory percent -50":                 func(s *Snapshot) { s.Memory.Percent = -50 },
		"memory percent 150":                 func(s *Snapshot) { s.Memory.Percent = 150 },
		"memory available > total":           func(s *Snapshot) { s.Memory.Available = s.Memory.Total + 1 },
		"memory used > total":                func(s *Snapshot) { s.Memory.Used = s.Memory.Total + 1 },
		"memory total 2 EiB":                 func(s *Snapshot) { s.Memory.Total = 1 << 61 },
		"disk used > total (777 %)":          func(s *Snapshot) { s.Disk.Used = s.Disk.Total * 7 },
		"disk free > total":                  func(s *Snapshot) { s.Disk.Free = s.Disk.Total + 1 },
		"swap used > total":                  func(s *Snapshot) { s.Swap.Used = 2048 },
		"swap percent 200":                   func(s *Snapshot) { s.Swap.Percent = 200 },
		"fs used > total":                    func(s *Snapshot) { s.Filesystems[0].Used = s.Filesystems[0].Total + 1 },
		"fs percent 777":                     func(s *Snapshot) { s.Filesystems[0].Percent = 777 },
		"99,999 cores":                       func(s *Snapshot) { s.CPUCount = 99999 },
		"negative cores":                     func(s *Snapshot) { s.CPUCount = -1 },
		"too many per-core entries":          func(s *Snapshot) { s.CPUPerCore = make([]float64, MaxCores+1) },
		"cpu seconds for another core count": func(s *Snapshot) { s.CPUSeconds.Idle = s.CPUSeconds.Idle[:1] },
		"cpu seconds negative":               func(s *Snapshot) { s.CPUSeconds.User[0] = -1 },
		"cpu seconds for 1025 cores": func(s *Snapshot) {
			s.CPUPerCore = make([]float64, MaxCPUSecondsCores+1)
			v := s.CPUPerCore
			s.CPUSeconds = &CPUSeconds{v, v, v, v, v, v, v, v}
		},
		"cpu seconds over 100 years": func(s *Snapshot) { s.CPUSeconds.Steal[1] = MaxCPUSeconds * 2 },
		"disk counter over 1 EiB":    func(s *Snapshot) { s.DiskIO.Disks[0].Reads = MaxByteCount + 1 },
		"disk name with ESC":         func(s *Snapshot) { s.DiskIO.Disks[0].Name = "sd\x1ba" },
		"too many disks": func(s *Snapshot) {
			for len(s.DiskIO.Disks) <= MaxDisks {
				s.DiskIO.Disks = append(s.DiskIO.Disks, s.DiskIO.Disks[0])
			}
		},
		"interface counter over 1 EiB":  func(s *Snapshot) { s.Network.Interfaces[0].TxBytesTotal = MaxByteCount + 1 },
		"load negative":                 func(s *Snapshot) { s.Load.Load5 = -1 },
		"load 1e7":                      func(s *Snapshot) { s.Load.Load15 = 1e7 },
		"disk read 1e308 B/s":           func(s *Snapshot) { s.DiskIO.ReadBytesPerSec = 1e308 },
		"disk write negative":           func(s *Snapshot) { s.DiskIO.WriteBytesPerSec = -1 },
		"disk ops 1e12/s":               func(s *Snapshot) { s.DiskIO.WriteOpsPerSec = 1e12 },
		"network rx 1e308 B/s":          func(s *Snapshot) { s.Network.RxBytesPerSec = 1e308 },
		"network tx negative":           func(s *Snapshot) { s.Network.TxBytesPerSec = -5 },
		"interface rx 1e14 B/s":         func(s *Snapshot) { s.Network.Interfaces[0].RxBytesPerSec = 1e14 },
		"interface tx negative":         func(s *Snapshot) { s.Network.Interfaces[0].TxBytesPerSec = -1 },
		"interval 3 days":               func(s *Snapshot) { s.IntervalSeconds = 3 * 86400 },
		"interval negative":             func(s *Snapshot) { s.IntervalSeconds = -1 },
		"uptime 1e12 s":                 func(s *Snapshot) { s.UptimeSeconds = 1e12 },
		"mount point too long":          func(s *Snapshot) { s.Filesystems[0].Mountpoint = "/" + long },
		"device too long":               func(s *Snapshot) { s.Filesystems[0].Device = long },
		"fstype too long":               func(s *Snapshot) { s.Filesystems[0].Fstype = long },
		"interface name too long":       func(s *Snapshot) { s.Network.Interfaces[0].Name = long },
		"interface name with ESC":       func(s *Snapshot) { s.Network.Interfaces[0].Name = "eth\x1b[31m" },
		"mount point with C1 control":   func(s *Snapshot) { s.Filesystems[0].Mountpoint = "/mnt\u0085x" },
		"device with newline":           func(s *Snapshot) { s.Filesystems[0].Device = "/dev/a\nb" },
		"host with a bidi override":     func(s *Snapshot) { s.Host = "web-\u202e10-bew" },
		"processor with a bidi isolate": func(s *Snapshot) { s.Processor = "AMD\u2067x" },
		"processor too long":            func(s *Snapshot) { s.Processor = strings.Repeat("x", MaxStringLen+1) },
		"host too long":                 func(s *Snapshot) { s.Host = strings.Repeat("h", MaxHostLen+1) },
		"host with DEL":                 func(s *Snapshot) { s.Host = "web\x7f" },
		"missing entry too long":        func(s *Snapshot) { s.Missing = []string{"filesystem:" + strings.Repeat("m", MaxMissingLen)} },
		"missing entry with control":    func(s *Snapshot) { s.Missing = []string{"load\x00"} },
		"too many missing":              func(s *Snapshot) { s.Missing = make([]string, MaxMissing+1) },
		"too many filesystems": func(s *Snapshot) {
			for len(s.Filesystems) <= MaxFilesystems {
				s.Filesystems = append(s.Filesystems, s.Filesystems[0])
			}
		},
		"too many interfaces": func(s *Snapshot) {
			for len(s.Network.Interfaces) <= MaxInterfaces {
				s.Network.Interfaces = append(s.Network.Interfaces, s.Network.Interfaces[0])
			}
		},
		"tag key upper case":          func(s *Snapshot) { s.Tags["Env"] = "prod" },
		"tag key too long":            func(s *Snapshot) { s.Tags[strings.Repeat("k", MaxTagKeyLen+1)] = "x" },
		"tag value empty":             func(s *Snapshot) { s.Tags["env"] = "" },
		"tag value with a space":      func(s *Snapshot) { s.Tags["env"] = "pro d" },
		"tag value with a newline":    func(s *Snapshot) { s.Tags["env"] = "prod\n" },
		"tag value with a bidi":       func(s *Snapshot) { s.Tags["env"] = "prod\u202e" },
		"tag value with markup":       func(s *Snapshot) { s.Tags["env"] = "<b>" },
		"tag value too long":          func(s *Snapshot) { s.Tags["env"] = strings.Repeat("v", MaxTagValueLen+1) },
		"tag key with =":              func(s *Snapshot) { s.Tags["a=b"] = "c" },
		"too many tags":               func(s *Snapshot) { addTags(s, MaxTags+1) },
		"temperature 5000":            func(s *Snapshot) { s.Temperatures[0].Celsius = 5000 },
		"temperature below 0 K":       func(s *Snapshot) { s.Temperatures[0].Celsius = -300 },
		"temperature critical 1e9":    func(s *Snapshot) { s.Temperatures[0].Critical = 1e9 },
		"temperature sensor empty":    func(s *Snapshot) { s.Temperatures[0].Sensor = "" },
		"temperature sensor with ESC": func(s *Snapshot) { s.Temperatures[0].Sensor = "core\x1b" },
		"temperature sensor twice":    func(s *Snapshot) { s.Temperatures = append(s.Temperatures, s.Temperatures[0]) },
		"too many temperatures": func(s *Snapshot) {
			for len(s.Temperatures) <= MaxTemperatures {
				s.Temperatures = append(s.Temperatures, s.Temperatures[0])
			}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := sample()
			mutate(s)
			if s.Validate() == nil {
				t.Fatal("Validate accepted it")
			}
			body, err := Encode(s)
			if err != nil {
				t.Fatal(err)
			}
			if decodeBoth(t, body) == nil {
				t.Fatal("Decode accepted it")
			}
		})
	}
	// The extremes that are allowed.
	s := sample()
	s.CPUPercent, s.CPUPerCore, s.CPUCount = MaxPercent, make([]float64, MaxCores), MaxCores
	s.CPUSeconds = nil // at most MaxCPUSecondsCores cores: TestWorstCaseMessage
	s.Memory.Available, s.Memory.Used, s.Memory.Percent = s.Memory.Total, s.Memory.Total, 0
	s.Load = &Load{Load1: MaxLoad}
	s.DiskIO.ReadBytesPerSec, s.DiskIO.ReadOpsPerSec = MaxBytesPerSec, MaxOpsPerSec
	s.Network.RxBytesPerSec, s.Network.Interfaces[0].Name = MaxBytesPerSec, strings.Repeat("é", MaxNameLen/2)
	s.Filesystems[0].Total, s.Filesystems[0].Used, s.Filesystems[0].Free = MaxByteCount, MaxByteCount, 0
	s.IntervalSeconds, s.UptimeSeconds, s.Host = MaxIntervalSeconds, MaxUptimeSeconds, strings.Repeat("h", MaxHostLen)
	for len(s.Filesystems) < MaxFilesystems {
		s.Filesystems = append(s.Filesystems, s.Filesystems[0])
	}
	addTags(s, MaxTags-1)
	s.Tags[strings.Repeat("k", MaxTagKeyLen)] = "A:/@+_.-" + strings.Repeat("v", MaxTagValueLen-8)
	for len(s.Temperatures) < MaxTemperatures {
		s.Temperatures = append(s.Temperatures, Temperature{Sensor: "x" + strconv.Itoa(len(s.Temperatures)), Celsius: MinCelsius, High: MaxCelsius, Critical: MaxCelsius})
	}
	body, _ := Encode(s)
	if err := decodeBoth(t, body); err != nil {
		t.Fatalf("a message at every limit was rejected: %v", err)
	}
	// NaN, which a Snapshot built in Go (not decoded) may carry.
	s = sample()
	s.Load.Load1 = math.NaN()
	if s.Validate() == nil {
		t.Error("NaN load accepted")
	}
}

// addTags fills s.Tags up to n tags.
func addTags(s *Snapshot, n int) {
	for i := 0; len(s.Tags) < n; i++ {
		s.Tags[fmt.Sprintf("t%d", i)] = "x"
	}
}

// TestCheckTag: the rules HOST_TAGS and the consumer share.
func TestCheckTag(t *testing.T) {
	for _, ok := range [][2]string{{"env", "prod"}, {"role", "db"}, {"k8s.zone-a_1", "eu-west-1a"}, {"owner", "ops@example.com"},
		{"url", "http://x/y"}, {"0", "A+B"}} {
		if err := CheckTag(ok[0], ok[1]); err != nil {
			t.Errorf("%s=%s: %v", ok[0], ok[1], err)
		}
	}
	for _, bad := range [][2]string{{"", "x"}, {"env", ""}, {"_env", "x"}, {"-env", "x"}, {"Env", "x"}, {"e nv", "x"},
		{"env", "a,b"}, {"env", "a=b"}, {"env", "a b"}, {"env", "é"}, {"env", "\"'"}, {"env", "a\x00"}} {
		if err := CheckTag(bad[0], bad[1]); err == nil {
			t.Errorf("%q=%q accepted", bad[0], bad[1])
		}
	}
}

// TestCheckHost: the rules for a host name, also applied to a prototype's
// routing key.
func TestCheckHost(t *testing.T) {
	for _, ok := range []string{"web-01", "db.example.com", "Bürorechner", strings.Repeat("a", MaxHostLen)} {
		if err := CheckHost(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "PLAT\xff\xfe", "a\x00b", "tab\there", "c1\u009b", strings.Repeat("a", MaxHostLen+1), "\xed\xa0\x80"} {
		if err := CheckHost(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCheckText(t *testing.T) {
	for _, ok := range []string{"", "/", "/mnt/données", strings.Repeat("é", MaxNameLen/2)} {
		if err := CheckText("mountpoint", ok, MaxNameLen); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"/mnt/\xff", "/mnt/a\nb", strings.Repeat("m", MaxNameLen+1)} {
		if err := CheckText("mountpoint", bad, MaxNameLen); err == nil || !strings.Contains(err.Error(), "mountpoint") {
			t.Errorf("%q: %v, want an error naming the field", bad, err)
		}
	}
}

// TestShapeFollowsTheStruct: every key of the golden message is known at
// its place, so that no key sysmon sends counts against MaxUnknownBytes.
func TestShapeFollowsTheStruct(t *testing.T) {
	golden, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any, sh *shape)
	walk = func(path string, v any, sh *shape) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				if sh.value != nil {
					walk(path+"."+k, child, sh.value)
					continue
				}
				cs, ok := sh.keys[k]
				if !ok {
					t.Errorf("%s.%s is not a known key", path, k)
					continue
				}
				walk(path+"."+k, child, cs)
			}
		case []any:
			for _, e := range x {
				if sh.elem == nil {
					t.Errorf("%s is not a known array", path)
					return
				}
				walk(path+"[]", e, sh.elem)
			}
		}
	}
	var m map[string]any
	if err := json.Unmarshal(golden, &m); err != nil {
		t.Fatal(err)
	}
	walk("", m, messageShape)
	if len(messageShape.keys) != 28 {
		t.Errorf("%d top-level keys known, want 28", len(messageShape.keys))
	}
}

// noRepeatedKeys is an oracle independent of checkText: encoding/json's
// tokenizer, with keys compared by strings.EqualFold.
func noRepeatedKeys(body []byte) (depth int, err error) {
	d := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		keys   []string
		object bool
		key    bool // the next string is a key
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return depth, nil
		}
		if err != nil {
			return depth, err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.object && top.key
		if top != nil && top.object {
			top.key = !top.key
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				stack = append(stack, &frame{object: v == '{', key: true})
				depth = max(depth, len(stack))
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].key = true
				}
			}
			continue
		case string:
			if isKey {
				for _, k := range top.keys {
					if strings.EqualFold(k, v) {
						return depth, errors.New("repeated key " + v)
					}
				}
				top.keys = append(top.keys, v)
				top.key = false
				continue
			}
		}
		if top != nil && top.object {
			top.key = true
		}
	}
}

func TestNoRepeatedKeysOracle(t *testing.T) {
	if _, err := noRepeatedKeys([]byte(`{"a":{"b":1,"c":[{"b":2}]},"B":{"A":1}}`)); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{`{"a":1,"A":2}`, `{"x":[{"k":1,"\u212a":2}]}`, `{"a":{"b":{},"B":[]}}`} {
		if _, err := noRepeatedKeys([]byte(b)); err == nil {
			t.Errorf("%s: no repeat found", b)
		}
	}
	if d, _ := noRepeatedKeys([]byte(`{"a":[[1]]}`)); d != 3 {
		t.Errorf("depth %d, want 3", d)
	}
}

// checkAccepted: what Decode accepts is valid UTF-8, has no repeated key,
// is nested at most MaxDepth deep and has no lone surrogate escape.
func checkAccepted(t *testing.T, b []byte) {
	t.Helper()
	if !utf8.Valid(b) {
		t.Fatalf("accepted invalid UTF-8: %q", b)
	}
	depth, err := noRepeatedKeys(b)
	if err != nil {
		t.Fatalf("accepted %q: %v", b, err)
	}
	if depth > MaxDepth {
		t.Fatalf("accepted nesting %d deep", depth)
	}
	// encoding/json turns a lone surrogate into U+FFFD: a U+FFFD that
	// was not in the text came from one.
	var v any
	_ = json.Unmarshal(b, &v)
	re, _ := json.Marshal(v)
	if n := bytes.Count(re, []byte("\ufffd")); n > bytes.Count(b, []byte("\ufffd"))+bytes.Count(bytes.ToLower(b), []byte(`\ufffd`)) {
		t.Fatalf("accepted a lone surrogate escape: %q", b)
	}
}

// TestWorstCaseMessage: a message at every limit at once is accepted, and
// fits in the consumer's default MAX_MESSAGE_BYTES (1 MiB), so that the
// limits, not the size cap, decide what one message can make a consumer
// keep. Its size is what README and the fleet's memory bound build on.
func TestWorstCaseMessage(t *testing.T) {
	str := func(n int) string { return strings.Repeat("x", n) }
	s := sample()
	s.Timestamp, s.Platform, s.PlatformRelease, s.Processor = str(MaxStringLen), str(MaxStringLen), str(MaxStringLen), str(MaxStringLen)
	s.HostID, s.InstanceID, s.AgentVersion, s.Host = str(MaxStringLen), str(MaxStringLen), str(MaxStringLen), str(MaxHostLen)
	// The largest lists: cpu_seconds_total stops at MaxCPUSecondsCores
	// cores (its 8 counters a core would be the largest list of all).
	s.CPUCount, s.CPUPerCore = MaxCPUSecondsCores, make([]float64, MaxCPUSecondsCores)
	for i := range s.CPUPerCore {
		s.CPUPerCore[i] = 99.99
	}
	fs := Filesystem{Mountpoint: str(MaxNameLen), Device: str(MaxNameLen), Fstype: str(MaxNameLen),
		Total: MaxByteCount, Used: MaxByteCount - 1, Free: MaxByteCount - 1, Percent: 99.99}
	s.Filesystems = make([]Filesystem, MaxFilesystems)
	for i := range s.Filesystems {
		s.Filesystems[i] = fs
	}
	in := Interface{Name: str(MaxNameLen), RxBytesPerSec: MaxBytesPerSec - 0.01, TxBytesPerSec: MaxBytesPerSec - 0.01}
	s.Network.Interfaces = make([]Interface, MaxInterfaces)
	for i := range s.Network.Interfaces {
		s.Network.Interfaces[i] = in
	}
	s.Missing = make([]string, MaxMissing)
	for i := range s.Missing {
		s.Missing[i] = str(MaxMissingLen)
	}
	secs := make([]float64, MaxCPUSecondsCores)
	for i := range secs {
		secs[i] = 3153599999.99 // a core busy for 100 years, to the tick
	}
	s.CPUSeconds = &CPUSeconds{secs, secs, secs, secs, secs, secs, secs, secs}
	s.DiskIO.Disks = make([]DiskCounters, MaxDisks)
	for i := range s.DiskIO.Disks {
		s.DiskIO.Disks[i] = DiskCounters{Name: str(MaxNameLen), ReadBytes: MaxByteCount, WriteBytes: MaxByteCount, Reads: MaxByteCount, Writes: MaxByteCount}
	}
	for i := range s.Network.Interfaces {
		s.Network.Interfaces[i].RxBytesTotal, s.Network.Interfaces[i].TxBytesTotal = MaxByteCount, MaxByteCount
	}
	s.Tags = map[string]string{}
	for i := range MaxTags {
		s.Tags[fmt.Sprintf("%0*d", MaxTagKeyLen, i)] = strings.Repeat("v", MaxTagValueLen)
	}
	s.Temperatures = make([]Temperature, MaxTemperatures)
	for i := range s.Temperatures {
		s.Temperatures[i] = Temperature{Sensor: str(MaxNameLen-3) + fmt.Sprintf("%03d", i), Celsius: -273.15, High: 999.99, Critical: 999.99} // each name once
	}
	body, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	body = append(body[:len(body)-1], `,"x":"`+str(MaxUnknownBytes-len(`"x":""`))+`"}`...)
	if _, err := Decode(body, 1<<20); err != nil {
		t.Fatalf("the worst-case message (%d bytes) is refused: %v", len(body), err)
	}
	t.Logf("worst-case message: %d bytes", len(body))
}
