// Package jobbackoff spaces out the retries of a scheduled RA job that
// keeps failing (package ra's scheduler). It is plumbing: it decides no
// rule and touches no store; it must not import ra.
package jobbackoff

import (
	"sync"
	"time"
)

// Backoff spaces out retries of a scheduled job that keeps failing, so
// a persistent fault (a store error, a bad record) costs one refusal
// audit record per retry, at most every MaxDelay, not one a second.
// It is in memory: a restart retries at once, which is what an operator
// who just fixed the fault wants.
type Backoff struct {
	mu    sync.Mutex
	tries map[string]retry
}

type retry struct {
	failures int
	next     time.Time
}

// The first retry waits MinDelay; each later one twice the last, at most
// MaxDelay.
const (
	MinDelay = time.Second
	MaxDelay = 5 * time.Minute
)

// Due reports whether job key may run at now.
func (b *Backoff) Due(key string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.tries[key]
	return !ok || !now.Before(r.next)
}

// Failed records a failure at now and schedules the next try: 1s, 2s,
// 4s, ... up to MaxDelay.
func (b *Backoff) Failed(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tries == nil {
		b.tries = map[string]retry{}
	}
	r := b.tries[key]
	r.failures++
	d := MinDelay << min(r.failures-1, 20)
	if d > MaxDelay {
		d = MaxDelay
	}
	r.next = now.Add(d)
	b.tries[key] = r
}

// Succeeded forgets key's failures.
func (b *Backoff) Succeeded(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.tries, key)
}
