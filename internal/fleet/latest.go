package fleet

import "time"

// Latest is a host's latest snapshot as published, for a reader that
// forwards it (internal/forward).
type Latest struct {
	Host     string
	LastSeen time.Time
	Snapshot []byte // compacted, never modified: safe to keep
}

// AppendLatest appends every host's latest snapshot to buf, in no order,
// and returns it. It holds the lock for a copy of three fields per host
// only: Hosts sorts and builds entries with their figures, a scan of 375 ms
// at 100,000 hosts against 44 ms (forward.BenchmarkScan), most of it under
// the lock that ingest needs.
func (f *Fleet) AppendLatest(buf []Latest) []Latest {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.hosts {
		buf = append(buf, Latest{Host: h.name, LastSeen: h.lastSeen, Snapshot: h.snap})
	}
	return buf
}
