package main

import (
	"testing"
	"time"
)

// TestCoverageFindsAHostNotReceivedInTime: -every counts a client complete
// only if each host of its state frame came at least that often, the last
// gap (to the end) included, and hosts unknown to the state are ignored.
func TestCoverageFindsAHostNotReceivedInTime(t *testing.T) {
	state := []byte(`{"type":"state","hosts":[{"host":"a","legacy":false},{"host":"b","legacy":false}]}`)
	t0 := time.Now()
	frame := func(hosts ...string) []byte {
		b := []byte(`{"type":"update","hosts":[`)
		for i, h := range hosts {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"host":"`+h+`","point":{}}`...)
		}
		return append(b, "]}"...)
	}
	every := time.Second
	run := func(frames map[time.Duration][]string, end time.Duration) (time.Duration, uint64) {
		w := &watcher{every: every}
		c := w.coverage(state, t0)
		for at := time.Duration(0); at <= end; at += 250 * time.Millisecond {
			if hosts, ok := frames[at]; ok && hosts == nil { // the state frame, received late
				c.frame(state, t0.Add(at), every)
				continue
			}
			if hosts, ok := frames[at]; ok {
				c.frame(frame(hosts...), t0.Add(at), every)
			}
		}
		return c.finish(t0.Add(end), every)
	}
	ms := time.Millisecond
	gap, late := run(map[time.Duration][]string{
		750 * ms: {"a", "b", "z"}, 1500 * ms: {"a"}, 1750 * ms: {"b"}, 2500 * ms: {"a", "b"}}, 3000*ms)
	if late != 0 || gap != 1000*ms {
		t.Fatalf("every host within 1 s: longest gap %v, %d late; want 1s, 0", gap, late)
	}
	gap, late = run(map[time.Duration][]string{750 * ms: {"a", "b"}, 1500 * ms: {"a"}, 2500 * ms: {"a", "b"}}, 3000*ms)
	if late != 1 || gap != 1750*ms {
		t.Fatalf("b missing for 1.75 s: longest gap %v, %d late; want 1.75s, 1", gap, late)
	}
	gap, late = run(map[time.Duration][]string{750 * ms: {"a", "b"}}, 3000*ms)
	if late != 2 || gap != 2250*ms {
		t.Fatalf("nothing after 0.75 s: longest gap %v, %d late; want 2.25s, 2 (the end counts)", gap, late)
	}
	gap, late = run(map[time.Duration][]string{1500 * ms: nil, 2250 * ms: {"a", "b"}}, 3000*ms)
	if late != 2 || gap != 1500*ms {
		t.Fatalf("state received 1.5 s late: longest gap %v, %d late; want 1.5s, 2 (a late client missed its hosts)", gap, late)
	}
}
