package history

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Events are few (a handful per host and day): one bucket for the fleet,
// keyed by time in unix nanoseconds and a sequence number, so that the
// fleet-wide list is one backwards walk and a host's list filters it.

func eventKey(t time.Time, seq uint64) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	return binary.BigEndian.AppendUint64(k, seq)
}

func appendEvent(b []byte, e Event) []byte {
	b = appendString(b, e.Host)
	b = appendString(b, e.Kind)
	return appendString(b, e.Detail)
}

func decodeEvent(k, v []byte) (Event, error) {
	if len(k) != 16 {
		return Event{}, errCorrupt
	}
	r := reader{b: v}
	e := Event{T: time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC(), Host: r.str(), Kind: r.str(), Detail: r.str()}
	return e, r.err
}

// Events lists events from from to to (inclusive), newest first, at most
// limit (≤ 0: no limit); host "" lists the whole fleet's.
func (s *Store) Events(ctx context.Context, host string, from, to time.Time, limit int) ([]Event, error) {
	var out []Event
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bEvents).Cursor()
		lo := uint64(max(from.UnixNano(), 0))
		hi := eventKey(to, ^uint64(0))
		k, v := c.Seek(hi)
		if k == nil {
			k, v = c.Last()
		} else if string(k) > string(hi) {
			k, v = c.Prev()
		}
		for n := 0; k != nil; k, v = c.Prev() {
			if len(k) >= 8 && binary.BigEndian.Uint64(k) < lo {
				break
			}
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			e, err := decodeEvent(k, v)
			if err != nil || host != "" && e.Host != host {
				continue
			}
			out = append(out, e)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}

func appendLatest(b []byte, l Latest) []byte {
	b = appendString(b, l.RoutingKey)
	b = binary.AppendVarint(b, l.LastSeen.UnixNano())
	return appendString(b, string(l.Text()))
}

func decodeLatest(k, v []byte) (Latest, error) {
	r := reader{b: v}
	l := Latest{Host: string(k), RoutingKey: r.str()}
	l.LastSeen = time.Unix(0, r.varint())
	l.Body = []byte(r.str())
	return l, r.err
}

// Recent returns up to n of host's newest raw samples, oldest first: those
// still buffered for the next flush too, so that every sample added is in
// (a dashboard's live chart is drawn from it).
func (s *Store) Recent(host string, n int) []Sample {
	if n <= 0 {
		return nil
	}
	var out []Sample // newest first while collecting (sorted below)
	// Buffered first, then the head, then the database: a sample moves
	// that way, and each step is visible before the one it leaves is not.
	s.mu.Lock()
	for _, buf := range [][]pendingSample{s.pend, s.flushing} {
		for i := range buf {
			if buf[i].host == host {
				out = append(out, buf[i].s)
			}
		}
	}
	s.mu.Unlock()
	s.headMu.RLock()
	mins := make([]int64, 0, len(s.head[host]))
	for m := range s.head[host] {
		mins = append(mins, m)
	}
	slices.Sort(mins)
	for i := len(mins) - 1; i >= 0 && len(out) < n; i-- {
		smps, _ := decodeChunk(s.head[host][mins[i]], 0, nil)
		slices.SortFunc(smps, func(a, b Sample) int { return b.T.Compare(a.T) })
		out = append(out, smps...)
	}
	s.headMu.RUnlock()
	if len(out) < n {
		_ = s.db.View(func(tx *bolt.Tx) error {
			hb := tx.Bucket(bTiers[tRaw]).Bucket([]byte(host))
			if hb == nil {
				return nil
			}
			c := hb.Cursor()
			for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
				smps, err := decodeChunk(v, keyTime(k)*1000, nil)
				if err != nil {
					continue
				}
				for i := len(smps) - 1; i >= 0; i-- {
					out = append(out, smps[i])
				}
			}
			return nil
		})
	}
	// A sample redelivered may be in the head twice, or in the head and
	// its row: keep one.
	slices.SortStableFunc(out, func(a, b Sample) int { return b.T.Compare(a.T) })
	out = slices.CompactFunc(out, func(a, b Sample) bool { return a.T.Equal(b.T) })
	if len(out) > n {
		out = out[:n]
	}
	slices.Reverse(out)
	return out
}
