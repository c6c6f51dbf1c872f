package packed

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// snapshotLike is text of a snapshot's shape and size (about 2 KB).
var snapshotLike = []byte(`{"schema":1,"host":"host-00042","host_id":"0000002a-0000-0000-0000-00000000002a","cpu_percent":12.5,"cpu_per_core":[12.5,3.03,45.1,0,7.77,99.5,23.4,1.01],` +
	strings.Repeat(`{"mountpoint":"/var/lib/docker","device":"/dev/nvme1n1p1","fstype":"xfs","total":1099511627776,"used":549755813888,"free":549755813888,"percent":50},`, 12) +
	`"platform":"Linux","processor":"AMD EPYC 7763 64-Core Processor"}`)

func TestRoundTrip(t *testing.T) {
	noise := make([]byte, 5000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	for _, in := range [][]byte{[]byte(`{}`), []byte(`"é\u0000"`), snapshotLike, noise, bytes.Repeat(snapshotLike, 500)} {
		j := Of(in)
		if j.IsZero() || j.Len() != len(in) {
			t.Fatalf("Of(%d bytes): zero %v, Len %d", len(in), j.IsZero(), j.Len())
		}
		if got := j.Plain(); !bytes.Equal(got, in) {
			t.Fatalf("Plain of %d bytes gave %d bytes, not the same", len(in), len(got))
		}
		// After what dst holds, with and without room to spare.
		for _, dst := range [][]byte{[]byte("prefix"), append(make([]byte, 0, 2*len(in)+10), "prefix"...)} {
			if got := j.AppendPlain(dst); string(got[:6]) != "prefix" || !bytes.Equal(got[6:], in) {
				t.Fatalf("AppendPlain of %d bytes after 6 gave %d bytes, not the same", len(in), len(got))
			}
		}
	}
}

// TestOfCopies: what Of packed does not change with the slice it was
// given (a delivery's body, reused by the AMQP library).
func TestOfCopies(t *testing.T) {
	in := bytes.Clone(snapshotLike)
	j := Of(in)
	clear(in)
	if !bytes.Equal(j.Plain(), snapshotLike) {
		t.Fatal("the packed text changed with its source")
	}
}

// TestPacksSnapshots: a snapshot takes less than half its size (what the
// package is for), and comes back whole.
func TestPacksSnapshots(t *testing.T) {
	text := published(t)
	j := Of(text)
	if j.Size() > len(text)/2 {
		t.Fatalf("%d bytes of JSON hold %d bytes packed", len(text), j.Size())
	}
	if !bytes.Equal(j.Plain(), text) {
		t.Fatal("the snapshot did not come back whole")
	}
}

func TestZero(t *testing.T) {
	for _, j := range []JSON{{}, Of(nil), Of([]byte{})} {
		if !j.IsZero() || j.Len() != 0 || j.Size() != 0 || j.Plain() != nil || string(j.AppendPlain([]byte("x"))) != "x" {
			t.Fatalf("%+v is not none", j)
		}
	}
}

// FuzzRoundTrip: any text comes back as it went in.
func FuzzRoundTrip(f *testing.F) {
	f.Add(snapshotLike)
	f.Add([]byte(`{"a":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if got := Of(in).Plain(); !bytes.Equal(got, in) && len(in) > 0 {
			t.Fatalf("%q came back as %q", in, got)
		}
	})
}

// published is a 2.4 KB snapshot as BenchmarkConsumerHeap's hosts publish it
// (9 cores, 2 file systems and disks, 2 interfaces).
func published(tb testing.TB) []byte {
	b, err := os.ReadFile("testdata/snapshot.json")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkOf is what packing costs ingest for each message.
func BenchmarkOf(b *testing.B) {
	text := published(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var j JSON
	for b.Loop() {
		j = Of(text)
	}
	b.ReportMetric(float64(j.Size()), "B/packed")
}

// BenchmarkPlain is what a reader pays to unpack one.
func BenchmarkPlain(b *testing.B) {
	text := published(b)
	j := Of(text)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if len(j.Plain()) != len(text) {
			b.Fatal("short")
		}
	}
}
