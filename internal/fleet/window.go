package fleet

// window remembers which sequence numbers of one publisher instance were
// seen: the highest, and a bitmap of the 64 below it. Re-sends after a
// reconnect and redeliveries after a consumer restart fall inside it.
type window struct {
	highest uint64
	bits    uint64 // bit i set: highest-1-i was seen
}

// seen marks seq and reports whether it had been seen before. A sequence
// number more than 64 behind the highest is treated as seen: it cannot be
// told apart, and its data is older than what is shown.
func (w *window) seen(seq uint64) bool {
	switch {
	case seq > w.highest:
		shift := seq - w.highest
		if shift > 64 {
			w.bits = 0
		} else {
			w.bits = w.bits<<shift | 1<<(shift-1)
			if w.highest == 0 {
				w.bits &^= 1 << (shift - 1)
			}
		}
		w.highest = seq
		return false
	case seq == w.highest:
		return true
	}
	d := w.highest - seq - 1
	if d >= 64 {
		return true
	}
	if w.bits&(1<<d) != 0 {
		return true
	}
	w.bits |= 1 << d
	return false
}

// maxInstances bounds the per-host memory of publisher restarts.
const maxInstances = 4

func (h *host) duplicate(instance string, seq uint64) bool {
	w := h.seen[instance]
	if w == nil {
		if len(h.seenLRU) >= maxInstances {
			delete(h.seen, h.seenLRU[0])
			h.seenLRU = h.seenLRU[1:]
		}
		w = &window{}
		h.seen[instance] = w
		h.seenLRU = append(h.seenLRU, instance)
	}
	return w.seen(seq)
}
