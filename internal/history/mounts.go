package history

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Aggregate rows name a file system by a number, not by its mount point:
// the fleet has a few dozen mount points at most, and a row has several,
// so this saves about a twentieth of the store. The numbers are kept in
// bucket "mounts" (number → mount point), handed out in the seal's
// transaction and taken into memory only once it is through.

// mountName is the mount point numbered id ("?" for a number the store
// does not know: a corrupt row, drawn rather than failed).
func (s *Store) mountName(id uint64) string {
	s.mountMu.RLock()
	defer s.mountMu.RUnlock()
	if id < uint64(len(s.mountNames)) {
		return s.mountNames[id]
	}
	return fmt.Sprintf("?%d", id)
}

func (s *Store) loadMounts(tx *bolt.Tx) error {
	return tx.Bucket(bMounts).ForEach(func(k, v []byte) error {
		id := keyTime(k)
		if id != int64(len(s.mountNames)) {
			return fmt.Errorf("mount numbers: %d after %d", id, len(s.mountNames)-1)
		}
		s.mountNames = append(s.mountNames, string(v))
		s.mountIDs[string(v)] = uint64(id)
		return nil
	})
}

// mountTx hands out numbers within one transaction.
type mountTx struct {
	s     *Store
	b     *bolt.Bucket
	fresh []string
	err   error
}

func (s *Store) mountTx() *mountTx { return &mountTx{s: s} }

func (m *mountTx) id(name string) uint64 {
	m.s.mountMu.RLock()
	id, ok := m.s.mountIDs[name]
	n := len(m.s.mountNames)
	m.s.mountMu.RUnlock()
	if ok {
		return id
	}
	for i, f := range m.fresh {
		if f == name {
			return uint64(n + i)
		}
	}
	id = uint64(n + len(m.fresh))
	m.fresh = append(m.fresh, name)
	if err := m.b.Put(binary.BigEndian.AppendUint64(nil, id), []byte(name)); err != nil && m.err == nil {
		m.err = err
	}
	return id
}

func (m *mountTx) name(id uint64) string {
	m.s.mountMu.RLock()
	n := uint64(len(m.s.mountNames))
	m.s.mountMu.RUnlock()
	if id >= n && id-n < uint64(len(m.fresh)) {
		return m.fresh[id-n]
	}
	return m.s.mountName(id)
}

// mountsCommitted takes the transaction's new numbers into memory.
func (s *Store) mountsCommitted(m *mountTx) {
	s.mountMu.Lock()
	for _, f := range m.fresh {
		s.mountIDs[f] = uint64(len(s.mountNames))
		s.mountNames = append(s.mountNames, f)
	}
	s.mountMu.Unlock()
}
