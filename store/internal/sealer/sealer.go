// Package sealer runs an engine's audit sealer in the background: the
// engine owns what sealing does (chaining pending audit entries), this
// package only when it runs and how it stops.
package sealer

import (
	"sync"
	"time"
)

// Loop calls seal every delay, on its own goroutine, until Stop.
type Loop struct {
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// Start starts calling seal every delay. A failing seal is simply tried
// again at the next tick; the engine seals at Close and Open too.
func Start(delay time.Duration, seal func()) *Loop {
	l := &Loop{stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(l.stopped)
		tick := time.NewTicker(delay)
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
				seal()
			}
		}
	}()
	return l
}

// Stop ends the loop and waits for a running seal to finish (idempotent).
func (l *Loop) Stop() {
	l.once.Do(func() { close(l.stop) })
	<-l.stopped
}
