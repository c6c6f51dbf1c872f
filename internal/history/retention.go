package history

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retention runs in small steps, one short transaction a second, walking
// the hosts of one tier after the other and resuming where the last step
// stopped: a full walk over 10,000 hosts takes a minute or so, and no step
// holds Run for more than a few milliseconds.
const (
	retainHosts   = 200  // hosts visited per step
	retainDeletes = 2000 // rows deleted per step at most
)

type doomed struct {
	tier int
	host []byte
	keys [][]byte
}

func (s *Store) retain(now time.Time) {
	if s.failing && now.Before(s.retryAt) {
		return
	}
	// Find the work in a read transaction: most steps find none and
	// then cost no write (no commit, no fsync).
	var work []doomed
	var evKeys [][]byte
	_ = s.db.View(func(tx *bolt.Tx) error {
		work, evKeys = s.retainFind(tx, now)
		return nil
	})
	if len(work) == 0 && len(evKeys) == 0 {
		return
	}
	err := s.check("retain")
	if err == nil {
		err = s.db.Update(func(tx *bolt.Tx) error {
			var added [3]int64
			for _, d := range work {
				tb := tx.Bucket(bTiers[d.tier])
				hb := tb.Bucket(d.host)
				if hb == nil {
					continue
				}
				for _, k := range d.keys {
					if hb.Get(k) == nil {
						continue
					}
					if err := hb.Delete(k); err != nil {
						return err
					}
					added[d.tier]--
				}
				if k, _ := hb.Cursor().First(); k == nil {
					if err := tb.DeleteBucket(d.host); err != nil {
						return err
					}
				}
			}
			ev := tx.Bucket(bEvents)
			for _, k := range evKeys {
				if err := ev.Delete(k); err != nil {
					return err
				}
			}
			return s.putRows(tx.Bucket(bMeta), added)
		})
	}
	if err != nil {
		s.writeFailed(now, failDB, fmt.Errorf("remove old history: %w", err))
		return
	}
	s.writeOK(failDB)
}

// retainFind walks on from where the last step stopped and returns the
// rows past their retention, at most retainDeletes of them.
func (s *Store) retainFind(tx *bolt.Tx, now time.Time) ([]doomed, [][]byte) {
	var work []doomed
	deleted := 0
	rets := [3]time.Duration{s.ret.Raw, s.ret.Minute, s.ret.Hour}
	for visited := 0; visited < retainHosts && deleted < retainDeletes; {
		t := s.retTier
		tb := tx.Bucket(bTiers[t])
		// A row is past retention when it ends before the cutoff.
		cut := timeKey(now.Add(-rets[t]).Unix() - tierSpan[t] + 1)
		c := tb.Cursor()
		var k []byte
		if s.retHost == nil {
			k, _ = c.First()
		} else {
			k, _ = c.Seek(s.retHost)
			if k != nil && bytes.Equal(k, s.retHost) {
				k, _ = c.Next()
			}
		}
		if k == nil { // this tier is done: the next one, from its start
			s.retTier, s.retHost = (t+1)%3, nil
			if s.retTier == 0 {
				break
			}
			continue
		}
		host := append([]byte(nil), k...)
		s.retHost = host
		visited++
		hb := tb.Bucket(host)
		if hb == nil {
			continue
		}
		var old [][]byte
		hc := hb.Cursor()
		for rk, _ := hc.First(); rk != nil && bytes.Compare(rk, cut) < 0 && deleted+len(old) < retainDeletes; rk, _ = hc.Next() {
			old = append(old, append([]byte(nil), rk...))
		}
		if len(old) > 0 {
			work = append(work, doomed{t, host, old})
			deleted += len(old)
		}
	}
	// Events live as long as the longest tier.
	cut := eventKey(now.Add(-s.longest()), 0)
	var evKeys [][]byte
	c := tx.Bucket(bEvents).Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k, cut) < 0 && len(evKeys) < retainDeletes; k, _ = c.Next() {
		evKeys = append(evKeys, append([]byte(nil), k...))
	}
	return work, evKeys
}
