package history

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// dropMapped lets go of the database pages the process has read through
// bbolt's memory map (a seal reads each host's newest rows, retention and
// queries their ranges): they would count in the consumer's RSS, growing towards the
// database's size (gigabytes at 10,000 hosts), although they are the
// kernel's page cache, shared and reclaimable. The pages stay cached; the
// next read maps them again. The map is read-only and shared (bbolt writes
// through the file), so nothing is lost; the read transaction keeps bbolt
// from remapping meanwhile.
func (s *Store) dropMapped() {
	_ = s.db.View(func(tx *bolt.Tx) error {
		if n := tx.Size(); n > 0 {
			_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, s.db.Info().Data, uintptr(n), syscall.MADV_DONTNEED)
		}
		return nil
	})
}
