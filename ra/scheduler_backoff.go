package ra

import (
	"sync"
	"time"
)

// jobBackoff spaces out retries of a scheduled job that keeps failing, so
// a persistent fault (a store error, a bad record) costs one refusal
// audit record per retry, at most every maxJobBackoff, not one a second.
// It is in memory: a restart retries at once, which is what an operator
// who just fixed the fault wants.
type jobBackoff struct {
	mu    sync.Mutex
	tries map[string]jobRetry
}

type jobRetry struct {
	failures int
	next     time.Time
}

const (
	minJobBackoff = time.Second
	maxJobBackoff = 5 * time.Minute
)

// due reports whether job key may run at now.
func (b *jobBackoff) due(key string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.tries[key]
	return !ok || !now.Before(r.next)
}

// failed records a failure at now and schedules the next try: 1s, 2s,
// 4s, ... up to maxJobBackoff.
func (b *jobBackoff) failed(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tries == nil {
		b.tries = map[string]jobRetry{}
	}
	r := b.tries[key]
	r.failures++
	d := minJobBackoff << min(r.failures-1, 20)
	if d > maxJobBackoff {
		d = maxJobBackoff
	}
	r.next = now.Add(d)
	b.tries[key] = r
}

// succeeded forgets key's failures.
func (b *jobBackoff) succeeded(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.tries, key)
}
