package fleet

// windowSize is how far behind the highest sequence number a re-sent
// snapshot is still recognised: a publisher re-sends at most its outbox
// (OUTBOX_SIZE, 1,000 by default) after a reconnect.
const windowSize = 1024

// window remembers which sequence numbers of one publisher instance were
// seen: the highest, and whether each of the windowSize numbers below it
// was (bit seq%windowSize).
//
// A sequence number is not trusted blindly: anyone who can publish can send
// a host's (public) instance id with any seq. A number further than the
// window from the highest, ahead or behind, restarts the window at it and is
// accepted rather than moving the window past every genuine number (seq
// 2^64-1 would otherwise make each later snapshot a "duplicate"); the next
// genuine snapshot is then as far from the forged number and restarts it
// back. A forged number inside the window costs at most the one genuine
// snapshot that carries the same number. A genuine jump (snapshots dropped
// from a full outbox or queue) restarts the window too, which is all it needs.
type window struct {
	started bool
	highest uint64
	bits    [windowSize / 64]uint64
}

func (w *window) bit(seq uint64) (word int, mask uint64) {
	i := seq % windowSize
	return int(i / 64), 1 << (i % 64)
}

// seen marks seq and reports whether it had been seen before.
func (w *window) seen(seq uint64) bool {
	switch {
	case !w.started || (seq > w.highest && seq-w.highest >= windowSize) || (seq < w.highest && w.highest-seq >= windowSize):
		w.started, w.highest, w.bits = true, seq, [windowSize / 64]uint64{}
	case seq > w.highest:
		for s := w.highest + 1; s != seq; s++ { // numbers skipped: not seen
			i, m := w.bit(s)
			w.bits[i] &^= m
		}
		w.highest = seq
	default:
		i, m := w.bit(seq)
		if w.bits[i]&m != 0 {
			return true
		}
	}
	i, m := w.bit(seq)
	w.bits[i] |= m
	return false
}

// maxInstances bounds the per-host memory of publisher restarts.
const maxInstances = 4

// instanceWindow is one publisher instance's window. A host holds a few,
// oldest first, in a slice rather than a map: nearly every host has one
// instance, and a map of one entry cost more than the window (at 100,000
// hosts, 36 MB of map, windows and their list in a heap profile).
type instanceWindow struct {
	instance string
	window
}

func (h *host) duplicate(instance string, seq uint64) bool {
	for i := range h.seen {
		if h.seen[i].instance == instance {
			return h.seen[i].seen(seq)
		}
	}
	if len(h.seen) >= maxInstances { // forget the oldest
		h.seen = append(h.seen[:0], h.seen[1:]...)
	}
	h.seen = append(h.seen, instanceWindow{instance: instance})
	return h.seen[len(h.seen)-1].seen(seq)
}
