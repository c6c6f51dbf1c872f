//go:build !linux

package history

// dropMapped: only Linux is known to keep a shared map's pages in the
// page cache when they are advised away.
func (s *Store) dropMapped() {}
