package repo

import (
	"math"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// maxLimiterClients bounds the per-address buckets kept; past it, full
// (idle) buckets are dropped, and if none is idle, the fullest quarter
// (limiter.prune).
const maxLimiterClients = 16384

// limiter is a token bucket per client (clientKey: an IPv4 address or an
// IPv6 /64): each client may make burst requests at once and rate per
// second after that.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for the client at remoteAddr (host:port; the port
// is ignored) and reports whether it had one; if not, wait is how long
// until it will.
func (l *limiter) allow(remoteAddr string) (ok bool, wait time.Duration) {
	host := clientKey(remoteAddr)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[host]
	if b == nil {
		if len(l.buckets) >= maxLimiterClients {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[host] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// prune drops the buckets that have refilled (their clients are idle);
// if that frees nothing, it drops the fullest quarter: the clients
// furthest from their limit. A client that has spent its burst keeps its
// bucket: a flood of new addresses filling the table must not hand it
// (or the flood) a fresh burst, as emptying the table would.
func (l *limiter) prune(now time.Time) {
	type held struct {
		key    string
		tokens float64
	}
	all := make([]held, 0, len(l.buckets))
	for k, b := range l.buckets {
		tokens := b.tokens + now.Sub(b.last).Seconds()*l.rate
		if tokens >= l.burst {
			delete(l.buckets, k)
			continue
		}
		all = append(all, held{k, tokens})
	}
	if len(l.buckets) < maxLimiterClients {
		return
	}
	sort.Slice(all, func(i, j int) bool { return all[i].tokens > all[j].tokens })
	for _, h := range all[:len(all)/4] {
		delete(l.buckets, h.key)
	}
}

// clientKey is the client a request is counted against: its IPv4
// address (an IPv4-mapped IPv6 address is its IPv4 address), or its
// IPv6 address's /64, which one host holds whole and may send from any
// address of; an address that does not parse is its own client.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return host
	}
	return p.String()
}
