package history

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestRebaseChunkWritesWhatMergeWould: the seal's common case (a new raw
// row, samples in order) writes the very row and aggregates the general
// merge does, however the samples vary: missing figures, cores and file
// systems that come and go, a mount renamed; a chunk out of order is left
// to the merge.
func TestRebaseChunkWritesWhatMergeWould(t *testing.T) {
	minute := time.Now().Truncate(time.Minute).Add(-time.Hour)
	var smps []Sample
	for i := range 60 {
		x := benchSample(minute.Add(time.Duration(i)*time.Second+time.Duration(i)*time.Millisecond), i)
		switch i % 5 {
		case 1:
			x.Swap, x.Rx = nan32, nan32
		case 2:
			x.Cores, x.FS = nil, nil
		case 3:
			x.FS = append(x.FS[:1:1], FSUse{"/srv", 3}, FSUse{"/data", 4})
		case 4:
			x.Cores = x.Cores[:2]
		}
		smps = append(smps, x)
	}
	var enc []byte
	for i := range smps {
		enc = appendSample(enc, &smps[i], 0)
	}
	base := minute.Unix() * 1000
	var g agg
	row, inOrder, err := rebaseChunk(enc, base, &g, true)
	if err != nil || !inOrder {
		t.Fatalf("rebaseChunk: in order %v, %v", inOrder, err)
	}
	var want []byte
	var wantG agg
	for i := range smps {
		want = appendSample(want, &smps[i], base)
		wantG.add(&smps[i])
	}
	if !bytes.Equal(row, want) {
		t.Errorf("row differs from the merge's:\n got %x\nwant %x", row, want)
	}
	if !reflect.DeepEqual(g, wantG) {
		t.Errorf("aggregate %+v, want %+v", g, wantG)
	}
	back, err := decodeChunk(row, base, nil)
	if err != nil || len(back) != len(smps) {
		t.Fatalf("row decodes to %d samples, %v", len(back), err)
	}
	for i := range back {
		if !back[i].T.Equal(smps[i].T) || !slices.Equal(back[i].Cores, smps[i].Cores) || !slices.Equal(back[i].FS, smps[i].FS) ||
			back[i].CPU != smps[i].CPU || math.IsNaN(float64(back[i].Swap)) != math.IsNaN(float64(smps[i].Swap)) {
			t.Fatalf("sample %d: %+v, want %+v", i, back[i], smps[i])
		}
	}

	// Redelivered samples (the last one, an earlier one) and a late one
	// appended to the chunk.
	for _, late := range []Sample{smps[59], smps[10], benchSample(minute.Add(500*time.Millisecond), 0)} {
		e := appendSample(slices.Clip(enc), &late, 0)
		var g agg
		if _, inOrder, err := rebaseChunk(e, base, &g, true); err != nil || inOrder {
			t.Errorf("chunk with a sample at %v after %v: in order %v, %v", late.T, smps[59].T, inOrder, err)
		}
	}
}

// A seal in several transactions that fails half way: what its first
// transactions sealed is sealed once, whether the store goes on or is
// killed and reopened, including a late sample only the aggregates keep
// (its minute is past the raw tier's retention, so no raw row tells a
// second seal that it was sealed already).
func TestSealCutShortSealsEachSampleOnce(t *testing.T) {
	for _, reopen := range []bool{false, true} {
		t.Run(fmt.Sprintf("reopen=%v", reopen), func(t *testing.T) {
			dir := t.TempDir()
			c := &clock{t: t0}
			s := openAt(t, dir, c)
			s.sealBatch = 1 // a transaction per host
			hosts := []string{"a", "b", "c", "d"}
			minute := t0.Add(-2 * time.Minute)
			old := t0.Add(-3 * time.Hour)
			for i := range 60 {
				for _, h := range hosts {
					s.Add(h, sampleAt(minute.Add(time.Duration(i)*time.Second)))
				}
			}
			s.Add("a", sampleAt(old))
			s.flush(t0, true)
			commits := 0
			s.fault = func(op string) error {
				if op == "commit" {
					if commits++; commits == 3 {
						return errors.New("no space left on device")
					}
				}
				return nil
			}
			j := s.prepareSeal(t0, false)
			s.finishSeal(j, s.commitSeal(j)) // a and b sealed, c failed
			s.fault = nil
			if got := len(rowsOf(t, s, tRaw, "b")); got != 1 {
				t.Fatalf("b: %d raw rows after the first transactions, want 1", got)
			}
			if reopen {
				// As after a kill: the log is what was synced, the head gone.
				s.wal.close()
				s.db.Close()
				s = openAt(t, dir, c)
				_ = s.db.View(func(tx *bolt.Tx) error {
					if m := tx.Bucket(bMeta).Get(kSealing); m != nil {
						t.Errorf("the seal's marks outlive the open that replayed them")
					}
					return nil
				})
			}
			defer s.Close()
			now := t0.Add(retryAfter + time.Second)
			c.set(now)
			s.seal(now, false)
			s.headMu.RLock()
			left := len(s.head)
			s.headMu.RUnlock()
			if left != 0 {
				t.Errorf("%d hosts left in the head after the seal", left)
			}
			for _, h := range hosts {
				if n := rawCount(t, s, h, minute); n != 60 {
					t.Errorf("%s: %d samples in the raw row, want 60", h, n)
				}
				if n := aggN(t, s, tMin, h, minuteOf(minute)); n != 60 {
					t.Errorf("%s: the minute folds %d samples, want 60", h, n)
				}
			}
			if n := aggN(t, s, tMin, "a", minuteOf(old)); n != 1 {
				t.Errorf("a: the late sample's minute folds %d samples, want 1", n)
			}
			if n := aggN(t, s, tHour, "a", hourOf(old.Unix())); n != 1 {
				t.Errorf("a: the late sample's hour folds %d samples, want 1", n)
			}
		})
	}
}

func rawCount(t *testing.T, s *Store, host string, minute time.Time) int {
	t.Helper()
	var n int
	_ = s.db.View(func(tx *bolt.Tx) error {
		hb := tx.Bucket(bTiers[tRaw]).Bucket([]byte(host))
		if hb == nil {
			return nil
		}
		m := minuteOf(minute)
		smps, err := decodeChunk(hb.Get(timeKey(m)), m*1000, nil)
		if err != nil {
			t.Fatal(err)
		}
		n = len(smps)
		return nil
	})
	return n
}

func aggN(t *testing.T, s *Store, tier int, host string, start int64) uint32 {
	t.Helper()
	var n uint32
	_ = s.db.View(func(tx *bolt.Tx) error {
		hb := tx.Bucket(bTiers[tier]).Bucket([]byte(host))
		if hb == nil {
			return nil
		}
		v := hb.Get(timeKey(start))
		if v == nil {
			return nil
		}
		g, err := decodeAgg(v, s.mountName)
		if err != nil {
			t.Fatal(err)
		}
		n = g.N
		return nil
	})
	return n
}

// A seal whose every transaction went through while a flush could not
// write to its new generation, and the log then cannot be written anew
// either: the store takes the generation the database names, stops
// writes (counted, said in its status) rather than append behind the gap,
// and once the disk takes writes again starts a generation from the head,
// so that a kill after that loses nothing the head held.
func TestBrokenLogIsMendedBeforeMoreWrites(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s := openAt(t, dir, c)
	minute := t0.Add(-2 * time.Minute)
	for i := range 60 {
		s.Add("a", sampleAt(minute.Add(time.Duration(i)*time.Second)))
	}
	s.Add("a", sampleAt(t0.Add(-time.Second))) // the open minute
	s.flush(t0, true)
	j := s.prepareSeal(t0, false)
	// A flush while the seal runs: the samples reach the current log and
	// the head, not the new generation.
	s.Add("a", sampleAt(t0))
	s.next.broken = true
	s.flush(t0, false)
	if err := s.commitSeal(j); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	diskFull := true
	s.fault = func(op string) error {
		mu.Lock()
		defer mu.Unlock()
		if diskFull && op == "wal" {
			return syscall.ENOSPC
		}
		return nil
	}
	s.finishSeal(j, nil)
	if s.gen != j.gen || !s.Stats().DiskFull {
		t.Fatalf("after the seal: generation %d (the database names %d), disk full %v", s.gen, j.gen, s.Stats().DiskFull)
	}
	later := t0.Add(time.Second)
	c.set(later)
	s.Add("a", sampleAt(later))
	s.flush(later, true)
	if st := s.Stats(); st.Dropped != 1 {
		t.Fatalf("a sample given while the log is broken: dropped %d, want 1", st.Dropped)
	}
	mu.Lock()
	diskFull = false
	mu.Unlock()
	later = t0.Add(retryAfter + time.Second)
	c.set(later)
	s.Add("a", sampleAt(later))
	s.flush(later, true)
	if st := s.Stats(); st.DiskFull || s.gen != j.gen+1 {
		t.Fatalf("the disk takes writes again, yet: disk full %v, generation %d", st.DiskFull, s.gen)
	}
	// Killed: the log is what was synced, the head gone.
	s.wal.close()
	s.db.Close()
	s = openAt(t, dir, c)
	defer s.Close()
	var got []time.Time
	s.headMu.RLock()
	for m, b := range s.head["a"] {
		smps, err := decodeChunk(b, 0, nil)
		if err != nil {
			t.Fatalf("minute %d: %v", m, err)
		}
		for _, x := range smps {
			got = append(got, x.T)
		}
	}
	s.headMu.RUnlock()
	slices.SortFunc(got, time.Time.Compare)
	want := []time.Time{t0.Add(-time.Second), t0, later}
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("after the kill the head holds %v, want %v", got, want)
	}
	if n := rawCount(t, s, "a", minute); n != 60 {
		t.Errorf("%d samples in the sealed minute's raw row, want 60", n)
	}
}

// Seals cut short again and again (a disk that fails each time a little
// further on) leave one mark, not one each, and the seal that finally goes
// through seals every sample once.
func TestRepeatedCutShortSealsKeepOneMark(t *testing.T) {
	c := &clock{t: t0}
	s := openAt(t, t.TempDir(), c)
	defer s.Close()
	s.sealBatch = 1 // a transaction per host
	hosts := []string{"a", "b", "c"}
	start := t0.Add(-2 * time.Minute)
	for try := range 6 {
		for i := range 60 {
			for _, h := range hosts {
				s.Add(h, sampleAt(start.Add(time.Duration(try)*time.Minute+time.Duration(i)*time.Second)))
			}
		}
		now := t0.Add(time.Duration(try) * time.Minute)
		c.set(now)
		s.flush(now, true)
		commits := 0
		s.fault = func(op string) error {
			if op == "commit" {
				if commits++; commits == 2 && try < 5 {
					return errors.New("no space left on device")
				}
			}
			return nil
		}
		s.seal(now, false)
		s.fault = nil
		var marks []sealMark
		_ = s.db.View(func(tx *bolt.Tx) error {
			marks = decodeSealing(tx.Bucket(bMeta).Get(kSealing), s.gen)
			return nil
		})
		if want := min(1, 5-try); len(marks) != want {
			t.Fatalf("after seal %d: %d marks %v, want %d", try, len(marks), marks, want)
		}
		s.retryAt = time.Time{}
	}
	for _, h := range hosts {
		for try := range 6 {
			m := start.Add(time.Duration(try) * time.Minute)
			if n := rawCount(t, s, h, m); n != 60 {
				t.Errorf("%s, minute %d: %d samples in the raw row, want 60", h, try, n)
			}
			if n := aggN(t, s, tMin, h, minuteOf(m)); n != 60 {
				t.Errorf("%s, minute %d: the aggregate folds %d samples, want 60", h, try, n)
			}
		}
	}
}
