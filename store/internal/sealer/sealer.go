// Package sealer runs an engine's audit sealer in the background: the
// engine owns what sealing does (chaining pending audit entries), this
// package when it runs, how it stops, and how a failing seal is made
// visible (counted, and logged without flooding the log).
package sealer

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// LogEvery is the most often a streak of failing seals is logged again
// after its first failure: the loop seals every delay (100 ms by
// default), so logging each failure would flood the journal.
const LogEvery = time.Minute

// Loop calls seal every delay, on its own goroutine, until Stop.
type Loop struct {
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once

	log      *slog.Logger // nil: failures are counted, not logged
	engine   string       // the log's engine key
	now      func() time.Time
	failures atomic.Uint64 // every failed seal since Start

	// The current streak of failures (only the loop's goroutine, or
	// record's caller in tests, touches them).
	streak  uint64
	lastLog time.Time
}

// Start starts calling seal every delay. A failing seal is tried again at
// the next tick (the engine seals at Close and Open too); it is counted
// (Failures) and logged to log, if not nil, under "audit seal failed"
// (ERROR) with the keys engine, err and failures (failed seals in this
// streak): at its first failure, then at most once per LogEvery while
// it lasts. The first seal that succeeds after a streak is logged as
// "audit seal recovered" (WARN) with engine and failures.
func Start(delay time.Duration, seal func() error, log *slog.Logger, engine string) *Loop {
	l := &Loop{stop: make(chan struct{}), stopped: make(chan struct{}), log: log, engine: engine, now: time.Now}
	go func() {
		defer close(l.stopped)
		tick := time.NewTicker(delay)
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
				l.record(seal())
			}
		}
	}()
	return l
}

// Failures returns how many background seals have failed since Start
// (the server's smki_audit_seal_failures_total).
func (l *Loop) Failures() uint64 { return l.failures.Load() }

// record counts and logs one seal's outcome.
func (l *Loop) record(err error) {
	if err == nil {
		if l.streak > 0 && l.log != nil {
			l.log.Warn("audit seal recovered", "engine", l.engine, "failures", l.streak)
		}
		l.streak = 0
		return
	}
	l.failures.Add(1)
	l.streak++
	now := l.now()
	if l.log != nil && (l.streak == 1 || now.Sub(l.lastLog) >= LogEvery) {
		l.log.Error("audit seal failed", "engine", l.engine, "err", err, "failures", l.streak)
		l.lastLog = now
	}
}

// Stop ends the loop and waits for a running seal to finish (idempotent).
func (l *Loop) Stop() {
	l.once.Do(func() { close(l.stop) })
	<-l.stopped
}
