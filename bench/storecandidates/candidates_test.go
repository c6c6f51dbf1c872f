// Package storecandidates measures the two embedded stores considered for
// the consumer's history (issue 12) on sysmon's write pattern: 10,000 hosts
// sending a sample each second. It is a module of its own so that the
// candidate that lost (modernc.org/sqlite) is no dependency of sysmon.
//
//	cd bench/storecandidates && CGO_ENABLED=0 go test -bench . -benchtime 1x
//
// Two ways of writing, for each store:
//   - row: one row per host and second, one transaction per second (what
//     a plain "INSERT per sample" does);
//   - chunk: one row per host and minute holding its 60 samples, one
//     transaction per minute (internal/history's way; its write-ahead log,
//     appended every second, is the same for both stores and not counted).
//
// Each prints the cost per sample (one core, wall time with fsync), the
// slowest transaction, and the bytes on disk per sample.
package storecandidates

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	_ "modernc.org/sqlite"
)

const (
	hosts      = 10000
	sampleSize = 110 // bytes of one encoded sample (internal/history: 10 scalars, 8 cores, 3 file systems)
)

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	return b
}

func hostName(i int) string { return fmt.Sprintf("host-%05d", i) }

func diskUsage(dir string) int64 {
	var n int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			}
		}
	}
	return n
}

type store interface {
	// write commits one transaction: for each host, one row at key t
	// holding val.
	write(t int64, val []byte) error
	close() error
}

// The write pattern: seconds of the fleet at 1 Hz as rows, or minutes as
// chunks; report per sample.
func run(b *testing.B, open func(dir string) (store, error), chunk bool, seconds int) {
	dir := b.TempDir()
	s, err := open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	start := time.Now().Unix()
	var worst time.Duration
	samples := 0
	b.ResetTimer()
	if chunk {
		val := payload(60 * sampleSize)
		for m := 0; m < seconds/60; m++ {
			t := time.Now()
			if err := s.write(start+int64(m*60), val); err != nil {
				b.Fatal(err)
			}
			worst = max(worst, time.Since(t))
			samples += 60 * hosts
		}
	} else {
		val := payload(sampleSize)
		for sec := 0; sec < seconds; sec++ {
			t := time.Now()
			if err := s.write(start+int64(sec), val); err != nil {
				b.Fatal(err)
			}
			worst = max(worst, time.Since(t))
			samples += hosts
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples), "ns/sample")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples)*hosts/1e9*100, "%core-at-10k-hosts")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-tx-ms")
	b.ReportMetric(float64(diskUsage(dir))/float64(samples), "disk-B/sample")
}

// bbolt: a bucket per host, keyed by time (as internal/history).
type boltStore struct {
	db    *bolt.DB
	names [][]byte
}

func openBolt(dir string) (store, error) {
	db, err := bolt.Open(filepath.Join(dir, "h.db"), 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType, InitialMmapSize: 1 << 30})
	if err != nil {
		return nil, err
	}
	s := &boltStore{db: db}
	for i := range hosts {
		s.names = append(s.names, []byte(hostName(i)))
	}
	return s, nil
}

func (s *boltStore) write(t int64, val []byte) error {
	key := binary.BigEndian.AppendUint64(nil, uint64(t))
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, h := range s.names {
			hb, err := tx.CreateBucketIfNotExists(h)
			if err != nil {
				return err
			}
			hb.FillPercent = 1.0
			if err := hb.Put(key, val); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *boltStore) close() error { return s.db.Close() }

// SQLite (modernc.org/sqlite, pure Go): one table keyed by (host, time),
// WAL journal, synchronous=NORMAL as Beszel/PocketBase run it.
type sqliteStore struct {
	db    *sql.DB
	names []string
}

func openSQLite(dir string) (store, error) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "h.sqlite")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE samples (host TEXT NOT NULL, t INTEGER NOT NULL, v BLOB NOT NULL, PRIMARY KEY (host, t)) WITHOUT ROWID`); err != nil {
		return nil, err
	}
	s := &sqliteStore{db: db}
	for i := range hosts {
		s.names = append(s.names, hostName(i))
	}
	return s, nil
}

func (s *sqliteStore) write(t int64, val []byte) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	st, err := tx.Prepare(`INSERT INTO samples (host, t, v) VALUES (?, ?, ?)`)
	if err != nil {
		tx.Rollback()
		return err
	}
	for _, h := range s.names {
		if _, err := st.Exec(h, t, val); err != nil {
			tx.Rollback()
			return err
		}
	}
	st.Close()
	return tx.Commit()
}

func (s *sqliteStore) close() error { return s.db.Close() }

func BenchmarkCandidates(b *testing.B) {
	for _, c := range []struct {
		name string
		open func(string) (store, error)
	}{{"bbolt", openBolt}, {"sqlite", openSQLite}} {
		b.Run(c.name+"/row-per-second", func(b *testing.B) { run(b, c.open, false, 60) })
		b.Run(c.name+"/chunk-per-minute", func(b *testing.B) { run(b, c.open, true, 600) })
	}
}
