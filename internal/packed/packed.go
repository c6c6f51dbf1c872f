// Package packed owns JSON texts kept compressed in memory: the consumer
// holds every host's latest snapshot as published (at 100,000 hosts, 240 MB
// of JSON), which almost nobody reads (the host view's raw-JSON panel, the
// complete entries of the JSON API, the forwarder, the store's saved
// state), so it keeps them compressed and each reader unpacks the one it
// reads.
//
// The format is snappy's block format (github.com/golang/snappy): it packs
// a 2 KB snapshot in a few microseconds, which ingest pays for every
// message, and unpacks it faster still. It is never written anywhere: the
// wire and the store get the plain text.
package packed

import (
	"slices"
	"sync"

	"github.com/golang/snappy"
)

// JSON is a JSON text, compressed; the zero value is none. Never modified
// once made, so copies share it and read it without a lock.
type JSON struct {
	b []byte // a snappy block, nil for none
}

// scratch holds the buffers Of compresses into (snappy needs the worst
// case, a sixth more than the text) before it copies the block out at its
// own size.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

// Of packs a copy of plain; an empty text packs to the zero JSON.
func Of(plain []byte) JSON {
	if len(plain) == 0 {
		return JSON{}
	}
	buf := scratch.Get().(*[]byte)
	if n := snappy.MaxEncodedLen(len(plain)); cap(*buf) < n {
		*buf = make([]byte, n)
	}
	block := snappy.Encode((*buf)[:cap(*buf)], plain)
	j := JSON{b: append([]byte(nil), block...)}
	scratch.Put(buf)
	return j
}

// IsZero tells whether j is none.
func (j JSON) IsZero() bool { return j.b == nil }

// Len is the plain text's length.
func (j JSON) Len() int {
	n, err := snappy.DecodedLen(j.b)
	if err != nil {
		return 0
	}
	return n
}

// Size is what j holds in memory, for a budget.
func (j JSON) Size() int { return cap(j.b) }

// Plain returns the text, unpacked into a slice of its own (nil for none).
func (j JSON) Plain() []byte {
	if j.b == nil {
		return nil
	}
	return j.AppendPlain(nil)
}

// AppendPlain appends the text to dst and returns the result: a reader of
// many (a response with every host's) unpacks each into the same buffer.
func (j JSON) AppendPlain(dst []byte) []byte {
	n := j.Len()
	if n == 0 {
		return dst
	}
	at := len(dst)
	dst = slices.Grow(dst, n)[:at+n]
	// Cannot fail: Of made the block, and DecodedLen read its header.
	if _, err := snappy.Decode(dst[at:], j.b); err != nil {
		return dst[:at]
	}
	return dst
}
