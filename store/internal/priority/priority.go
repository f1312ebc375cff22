// Package priority lets urgent store transactions (revocation) go before
// ordinary ones in one process: an ordinary transaction that has not
// started waits while any urgent one is waiting or running. It decides
// only who starts; the engines decide how a transaction runs.
package priority

import (
	"context"
	"sync"
)

// Gate admits ordinary work only while no urgent work is pending.
type Gate struct {
	mu     sync.Mutex
	urgent int
	clear  chan struct{} // closed when urgent drops to 0; nil while 0
}

// Urgent marks urgent work as pending until the returned func is called.
func (g *Gate) Urgent() (done func()) {
	g.mu.Lock()
	if g.urgent == 0 {
		g.clear = make(chan struct{})
	}
	g.urgent++
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.urgent--
			if g.urgent == 0 {
				close(g.clear)
				g.clear = nil
			}
			g.mu.Unlock()
		})
	}
}

// Wait returns once no urgent work is pending, or with ctx's error.
func (g *Gate) Wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		c := g.clear
		g.mu.Unlock()
		if c == nil {
			return nil
		}
		select {
		case <-c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
