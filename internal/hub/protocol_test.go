package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// decodeStrict decodes b into v, refusing keys v does not declare.
func decodeStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%v:\n%s", err, b)
	}
}

// sameJSON: a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if !reflect.DeepEqual(va, vb) {
		t.Fatalf("encoded\n%s\nprotocol.go's types give\n%s", a, b)
	}
}

// TestEncodersMatchProtocol holds the hand-written encoders to the types of
// protocol.go: every key they write is declared there, and encoding/json
// writes the same value from the decoded type.
func TestEncodersMatchProtocol(t *testing.T) {
	now := time.Now()
	full := &snapshot.Snapshot{Timestamp: "t", CPUPercent: 12.5, Memory: snapshot.Memory{Total: 1000, Percent: 40}, Seq: 7,
		Host: "web-<01>", HostID: "id", InstanceID: "i", IntervalSeconds: 2, CPUPerCore: []float64{10, 15}, CPUCount: 2,
		Load: &snapshot.Load{Load1: 3, Load5: 2, Load15: 1}, Swap: &snapshot.Swap{Total: 100, Percent: 5}, UptimeSeconds: 60, Time: &now,
		Filesystems: []snapshot.Filesystem{{Mountpoint: "/", Device: "/dev/sda1", Fstype: "ext4", Total: 10, Used: 5, Free: 5, Percent: 50},
			{Mountpoint: "/d\"ata", Percent: 99.5}},
		Network: &snapshot.Network{RxBytesPerSec: 10, TxBytesPerSec: 20}, DiskIO: &snapshot.DiskIO{ReadBytesPerSec: 30, WriteBytesPerSec: 40},
		Tags:         map[string]string{"role": "db", "env": "prod", "zone": "eu-1"},
		Temperatures: []snapshot.Temperature{{Sensor: "coretemp_core_0", Celsius: 45.5, High: 80, Critical: 100}, {Sensor: "nvme<x>", Celsius: 61}}}
	proto := &snapshot.Snapshot{Timestamp: "t", CPUPercent: 1, Memory: snapshot.Memory{Total: 1, Percent: 2},
		Disk: snapshot.Disk{Total: 4, Used: 1, Free: 3}}
	f, h := testHub()
	_, sub := h.Subscribe(100, 1<<30, true, now) // complete: it reads both entries
	f.Apply(full, body(full), "", now)
	f.Apply(proto, body(proto), "proto", now)

	for _, u := range take(sub) {
		var e HostEntry
		decodeStrict(t, u.bytes(), &e)
		if e.Point == nil || e.Figures.CPU == nil || len(e.Figures.FS) == 0 || e.Snapshot == nil {
			t.Fatalf("complete update without point, figures, file systems or snapshot: %s", u.bytes())
		}
		again, _ := json.Marshal(e)
		sameJSON(t, u.bytes(), again)
		var lean HostEntry
		decodeStrict(t, u.Lean.bytes(), &lean)
		if lean.Point != nil || lean.Points != nil || lean.Figures.CPU == nil || lean.Figures.FS != nil || lean.Figures.Net != nil || lean.Snapshot != nil ||
			lean.Figures.Temps != nil {
			t.Fatalf("lean update: %s", u.Lean.bytes())
		}
		again, _ = json.Marshal(lean)
		sameJSON(t, u.Lean.bytes(), again)
	}
	var all bytes.Buffer
	if err := h.WriteHosts(&all, now); err != nil {
		t.Fatal(err)
	}
	var hosts []HostEntry
	decodeStrict(t, all.Bytes(), &hosts)
	again, _ := json.Marshal(hosts)
	sameJSON(t, all.Bytes(), again)
	var one bytes.Buffer
	if _, err := h.WriteHost(&one, "proto", now, -1); err != nil {
		t.Fatal(err)
	}
	var e HostEntry
	decodeStrict(t, one.Bytes(), &e)
	again, _ = json.Marshal(e)
	sameJSON(t, one.Bytes(), again)
	if len(e.History) != 1 || e.Figures.Tags != nil || e.Figures.Temp != nil || e.Figures.Temps != nil || *e.Figures.Disk != 25 || e.Figures.DiskMount != "/" || e.Figures.FS[0].Total != 4 ||
		e.Figures.Swap != nil || e.Figures.Cores != nil || e.Figures.Seq != nil || *e.History[0].FS["/"] != 25 {
		t.Fatalf("prototype host: %s", one.Bytes())
	}
	one.Reset()
	if _, err := h.WriteHost(&one, "web-<01>", now, -1); err != nil {
		t.Fatal(err)
	}
	decodeStrict(t, one.Bytes(), &e)
	if e.Figures.Tags["env"] != "prod" || len(e.Figures.Tags) != 3 || *e.Figures.Temp != 61 || e.Figures.TempSensor != "nvme<x>" || e.Figures.TempLevel != "ok" ||
		len(e.Figures.Temps) != 2 || e.Figures.Temps[0].Critical != 100 || e.Figures.Temps[1].High != 0 {
		t.Fatalf("tags and temperatures: %s", one.Bytes())
	}
	var r RemovedEntry
	decodeStrict(t, appendRemoved(nil, "a\"b"), &r)
	if r.Host != "a\"b" || !r.Removed {
		t.Fatalf("removed entry %+v", r)
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{"web-01", "/var/lib/docker", `<img src=x>`, "a\"b\\c", "é", "tab\there", ""} {
		want, _ := json.Marshal(in)
		if got := appendString(nil, in); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestStateKeepsStatusFresh: the state frame says each host's status at
// subscription, not the one it had when its last update was encoded.
func TestStateKeepsStatusFresh(t *testing.T) {
	f, h := testHub()
	t0 := time.Now()
	for _, n := range []string{"a", "b"} {
		f.Apply(snap(n, "i", 1), body(snap(n, "i", 1)), "", t0)
	}
	f.Apply(snap("b", "i", 2), body(snap("b", "i", 2)), "", t0.Add(4*time.Second))
	state, sub := h.Subscribe(10, 1<<30, false, t0.Add(4*time.Second))
	defer h.Unsubscribe(sub)
	var buf bytes.Buffer
	if _, err := state.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var hosts []HostEntry
	decodeStrict(t, buf.Bytes(), &hosts)
	got := map[string]string{}
	for _, e := range hosts {
		got[e.Host] = e.Status
		if e.Point != nil {
			t.Errorf("%s: a point in the state (lean: the host view's only)", e.Host)
		}
	}
	if got["a"] != fleet.Stale || got["b"] != fleet.Live || len(got) != 2 {
		t.Fatalf("statuses %v, want a stale and b live", got)
	}
}

// TestHubAfterHosts: a hub started on a fleet that holds hosts already
// shows them, each with its latest figures.
func TestHubAfterHosts(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 5, MaxHosts: 3, StaleAfter: 3, OfflineAfter: 10})
	f.Apply(snap("a", "i", 1), body(snap("a", "i", 1)), "", time.Now())
	f.Apply(snap("a", "i", 2), body(snap("a", "i", 2)), "", time.Now())
	h := New(f, Options{}, discard)
	state, _ := h.Subscribe(10, 1<<30, false, time.Now())
	var buf bytes.Buffer
	state.WriteTo(&buf)
	var hosts []HostEntry
	decodeStrict(t, buf.Bytes(), &hosts)
	if len(hosts) != 1 || *hosts[0].Figures.CPU != 2 || *hosts[0].Figures.Seq != 2 {
		t.Fatalf("state %s", buf.Bytes())
	}
}

// TestAppendFloatMatchesStrconv: the shortcut for whole numbers writes what
// strconv writes.
func TestAppendFloatMatchesStrconv(t *testing.T) {
	for _, v := range []float64{0, 1, 100, 12.5, 0.0125, 1e-7, 25276510208, 1099511627776, 1 << 53, 1<<53 + 2, 1e21, -3, 99.99999, 4096, 16777216, 16777217} {
		if got, want := string(appendFloat64(nil, v)), strconv.FormatFloat(v, 'f', -1, 64); got != want {
			t.Errorf("appendFloat64(%v) = %s, want %s", v, got, want)
		}
		if got, want := string(appendFloat32(nil, float32(v))), strconv.FormatFloat(float64(float32(v)), 'f', -1, 32); got != want {
			t.Errorf("appendFloat32(%v) = %s, want %s", v, got, want)
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if string(appendFloat64(nil, v)) != "null" || string(appendFloat32(nil, float32(v))) != "null" {
			t.Errorf("%v is not null", v)
		}
	}
}

// TestHostWithoutHistory: with HISTORY_SIZE 0 a host has no point to show;
// its entries still carry its figures.
func TestHostWithoutHistory(t *testing.T) {
	f := fleet.New(fleet.Config{HistorySize: 0, MaxHosts: 3, StaleAfter: 3, OfflineAfter: 10})
	f.Apply(snap("a", "i", 1), body(snap("a", "i", 1)), "", time.Now())
	h := New(f, Options{}, discard)
	state, _ := h.Subscribe(10, 1<<30, false, time.Now())
	var buf bytes.Buffer
	state.WriteTo(&buf)
	var hosts []HostEntry
	decodeStrict(t, buf.Bytes(), &hosts)
	if len(hosts) != 1 || hosts[0].Point != nil || hosts[0].Figures.CPU == nil || *hosts[0].Figures.CPU != 1 {
		t.Fatalf("state %s", buf.Bytes())
	}
}

// TestKeptEntryFitsItsEstimate: the entry the hub keeps per host fits the
// size the fleet's memory budget counts for it (Figures.Size), for a
// typical host and for one at the message limits.
func TestKeptEntryFitsItsEstimate(t *testing.T) {
	big := realistic("big")
	long := func(p string, i int) string { return fmt.Sprintf("%s%d-%s", p, i, strings.Repeat("x", 240)) }
	big.CPUPerCore = make([]float64, snapshot.MaxCores)
	for i := range big.CPUPerCore {
		big.CPUPerCore[i] = 12.345678
	}
	big.Filesystems, big.Network.Interfaces = nil, nil
	for i := range 256 {
		big.Filesystems = append(big.Filesystems, snapshot.Filesystem{Mountpoint: long("/m", i), Device: long("/dev/d", i),
			Fstype: long("t", i), Total: 1 << 40, Used: 1 << 39, Free: 1 << 39, Percent: 50.123456})
	}
	for i := range snapshot.MaxInterfaces {
		big.Network.Interfaces = append(big.Network.Interfaces, snapshot.Interface{Name: long("if", i), RxBytesPerSec: 1.123456789, TxBytesPerSec: 2.123456789})
	}
	f, h := testHub()
	for _, s := range []*snapshot.Snapshot{realistic("typical"), big} {
		f.Apply(s, body(s), "", time.Now())
		h.flush()
		l := h.latest[s.Host]
		fig := fleet.Derive(s)
		if kept, est := cap(l.lean), 256+len(s.Host)+len(s.HostID)+fig.Size(); kept > est {
			t.Errorf("%s: the hub keeps %d bytes, the estimate is %d", s.Host, kept, est)
		}
		// Only the lean head, at its own size (the allocator's size
		// class): no slack of a buffer sized for the lists and the point.
		if kept, used := cap(l.lean), len(l.lean); kept > used+used/8+16 {
			t.Errorf("%s: the hub keeps %d bytes for a head of %d", s.Host, kept, used)
		}
	}
}

// TestStateIsLean: a state frame's entries leave out what only the host
// view shows (the snapshot, the figures' fs and net lists, the point), keep
// the rest of the figures, and match protocol.go's types; the same host's
// GET /api/hosts entry is complete.
func TestStateIsLean(t *testing.T) {
	f, h := testHub()
	s := realistic("web-01")
	f.Apply(s, body(s), "", time.Now())
	state, sub := h.Subscribe(10, 1<<30, false, time.Now())
	defer h.Unsubscribe(sub)
	var buf bytes.Buffer
	if _, err := state.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var hosts []HostEntry
	decodeStrict(t, buf.Bytes(), &hosts)
	again, _ := json.Marshal(hosts)
	sameJSON(t, buf.Bytes(), again)
	e := hosts[0]
	if e.Snapshot != nil || e.Figures.FS != nil || e.Figures.Net != nil || e.Point != nil {
		t.Fatalf("state entry not lean: %s", buf.Bytes())
	}
	if *e.Figures.Disk != 50 || e.Figures.DiskMount != "/var/lib/docker" || *e.Figures.Cores != 8 ||
		e.Figures.Platform != "Linux" || e.Figures.Processor == "" || *e.Figures.Rx != 1234.5 {
		t.Fatalf("state entry lost overview figures: %s", buf.Bytes())
	}
	t.Logf("state entry %d bytes, snapshot %d bytes", buf.Len(), len(body(s)))
	var all bytes.Buffer
	if err := h.WriteHosts(&all, time.Now()); err != nil {
		t.Fatal(err)
	}
	decodeStrict(t, all.Bytes(), &hosts)
	if hosts[0].Snapshot == nil || len(hosts[0].Figures.FS) != 2 || len(hosts[0].Figures.Net) != 2 {
		t.Fatalf("API entry not complete: %s", all.Bytes())
	}
}
