package main

import (
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// TestSimulatedSnapshotsAreValid: what the load generator publishes passes
// the consumer's checks, counters included, so a benchmark measures ingest
// and not refusals; its counters only grow.
func TestSimulatedSnapshotsAreValid(t *testing.T) {
	now := time.Now()
	sensors := 0
	for i := range 50 {
		h := newSimHost(i, "h", shape{}, time.Second, 1)
		var last uint64
		for k := range 5 {
			body, err := snapshot.Encode(h.next(now.Add(time.Duration(k) * time.Second)))
			if err != nil {
				t.Fatal(err)
			}
			s, err := snapshot.Decode(body, 1<<20)
			if err != nil {
				t.Fatalf("host %d sample %d refused: %v", i, k, err)
			}
			if s.CPUSeconds == nil || len(s.DiskIO.Disks) == 0 || s.Network.Interfaces[0].RxBytesTotal < last {
				t.Fatalf("host %d sample %d: counters missing or going back: %+v", i, k, s)
			}
			last = s.Network.Interfaces[0].RxBytesTotal
			if len(s.Tags) != 3 {
				t.Fatalf("host %d sample %d: tags %v, want env, role and dc", i, k, s.Tags)
			}
			if len(s.Temperatures) > 0 {
				sensors++
			}
		}
	}
	if sensors == 0 || sensors == 50*5 {
		t.Fatalf("%d of 250 samples with temperatures: want some hosts with sensors and some without", sensors)
	}
}
