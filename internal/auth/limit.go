package auth

import (
	"net/netip"
	"sync"
	"time"
)

// Failed authentications are limited per client address: each gets a burst
// of failBurst checks, refilled at failRate a second. One client flooding
// wrong passwords is refused with 429 while every other client still gets
// in. IPv6 clients are counted per /64 (one machine usually owns a whole
// /64). Behind a reverse proxy every client has the proxy's address.
const (
	failRate  = 1
	failBurst = 10
	// failTable bounds the memory the limiter can take (about 100 bytes an
	// address).
	failTable = 4096
)

// failLimiter is a token bucket per client address. A bucket that has
// refilled to its burst carries no information, so it can be forgotten:
// when the table is full such buckets are swept (at most once a second).
// Addresses that still do not fit share one overflow bucket, so a flood
// from more than failTable addresses cannot grow the table.
type failLimiter struct {
	rate, burst float64
	max         int
	now         func() time.Time

	mu       sync.Mutex
	table    map[netip.Prefix]*bucket
	overflow bucket
	swept    time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newFailLimiter(rate, burst float64, max int) *failLimiter {
	return &failLimiter{rate: rate, burst: burst, max: max, now: time.Now, table: map[netip.Prefix]*bucket{}}
}

// refill brings b up to date and returns its tokens.
func (l *failLimiter) refill(b *bucket, now time.Time) float64 {
	if !b.at.IsZero() {
		b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	} else {
		b.tokens = l.burst
	}
	b.at = now
	return b.tokens
}

// take reserves one check for client; false when it has none left.
func (l *failLimiter) take(client netip.Prefix) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucket(client, now)
	if l.refill(b, now) < 1 {
		return false
	}
	b.tokens--
	return true
}

// refund returns the check reserved by take (the credentials were right:
// only failures count).
func (l *failLimiter) refund(client netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(client, l.now())
	b.tokens = min(l.burst, b.tokens+1)
}

// bucket returns client's bucket, making room or falling back to the shared
// overflow bucket when the table is full. l.mu is held.
func (l *failLimiter) bucket(client netip.Prefix, now time.Time) *bucket {
	if b, ok := l.table[client]; ok {
		return b
	}
	if len(l.table) >= l.max && now.Sub(l.swept) >= time.Second {
		l.swept = now
		for k, b := range l.table {
			if l.refill(b, now) >= l.burst {
				delete(l.table, k)
			}
		}
	}
	if len(l.table) >= l.max {
		return &l.overflow
	}
	b := &bucket{}
	l.table[client] = b
	return b
}

// size is the number of addresses tracked.
func (l *failLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.table)
}

// clientOf is the key a request's failures are counted under: its remote
// address (IPv4 /32, IPv6 /64). X-Forwarded-For is not trusted: any client
// can send it.
func clientOf(remoteAddr string) netip.Prefix {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Prefix{} // not TCP: one shared key
	}
	a := ap.Addr().Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}
