package history

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Format versions. The version lives in meta/version; a store without it
// is version 0, the layout of the first prototype, whose events were keyed
// by time alone (two events in the same nanosecond overwrote each other)
// and held as JSON.
//
// migrations[v] turns version v into v+1 inside one transaction, so that a
// crash in the middle leaves the old version whole.
var migrations = []func(tx *bolt.Tx) error{
	0: migrateEventsV0,
}

// migrate creates the buckets of a new store, upgrades an older one and
// refuses one written by a newer sysmon.
func migrate(db *bolt.DB, dir string) error {
	return db.Update(func(tx *bolt.Tx) error {
		fresh := true
		_ = tx.ForEach(func([]byte, *bolt.Bucket) error { fresh = false; return nil })
		meta, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return err
		}
		v := uint64(0)
		if b := meta.Get(kVersion); len(b) == 8 {
			v = binary.BigEndian.Uint64(b)
		} else if fresh {
			v = formatVersion
		}
		if v > formatVersion {
			return fmt.Errorf("history store %s has format version %d, newer than this sysmon's %d: "+
				"run the newer sysmon-consumer, or move the directory away to start a new history",
				filepath.Join(dir, dbName), v, formatVersion)
		}
		for _, name := range [][]byte{bEvents, bLatest, bMounts, bTiers[0], bTiers[1], bTiers[2]} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		for ; v < formatVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate history store %s from version %d: %w", filepath.Join(dir, dbName), v, err)
			}
		}
		return meta.Put(kVersion, binary.BigEndian.AppendUint64(nil, formatVersion))
	})
}

// migrateEventsV0 rewrites version 0's events (key: unix nanoseconds;
// value: the Event as JSON) as version 1's (key: nanoseconds and sequence;
// value: binary).
func migrateEventsV0(tx *bolt.Tx) error {
	old := tx.Bucket(bEvents)
	type kv struct{ k, v []byte }
	var all []kv
	if err := old.ForEach(func(k, v []byte) error {
		all = append(all, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
		return nil
	}); err != nil {
		return err
	}
	if err := tx.DeleteBucket(bEvents); err != nil {
		return err
	}
	b, err := tx.CreateBucket(bEvents)
	if err != nil {
		return err
	}
	for _, x := range all {
		var e Event
		if len(x.k) != 8 || json.Unmarshal(x.v, &e) != nil {
			continue // unreadable in v0 already: nothing to keep
		}
		seq, _ := b.NextSequence()
		if err := b.Put(eventKey(e.T, seq), appendEvent(nil, e)); err != nil {
			return err
		}
	}
	return nil
}
