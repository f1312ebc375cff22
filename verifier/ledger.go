package verifier

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Ledger is what a Verifier's decisions remember between requests: the
// last accepted counter of each originator (its ReplayStore) and the
// anomaly-detection windows, changed under one lock so that the last step
// of a decision (ADT count, replay check, recording both) is atomic.
//
// Verifiers built one after another in one process share one Ledger
// (Options.Ledger): a sidecar that reloads its trust directory builds a
// new Verifier, and with its own Ledger that Verifier would accept again
// every request the last one accepted (a replay) and count every ADT
// window from zero. While the old and the new Verifier both answer, the
// shared lock still lets only one of them accept a given counter.
type Ledger struct {
	mu      sync.Mutex
	replay  ReplayStore
	journal Journal // replay as a Journal, or nil
	adt     map[adtKey]*adtWindow
	// stateErr is why the last accept could not be made durable, nil
	// while accepts are (statehealth.go): the store's condition, so a
	// Verifier built after a failure (a reload) is not ready either.
	stateErr atomic.Pointer[string]
}

// NewLedger returns the Ledger keeping counters in replay (nil: a new
// in-memory store, NewMemoryReplayStore). If replay is also a Journal
// (StateFile is), the ADT windows are kept there too and resumed from it
// here, and accepts share its group fsync.
//
// A store has one Ledger: for a StateFile or a MemoryReplayStore, NewLedger
// (and New given it as Options.Replay) returns the one made the first
// time, so that Verifiers built on one store share its lock and its ADT
// windows. With a Ledger each, two Verifiers on one store checked and
// recorded a counter each under its own lock (both could accept one
// request sent to both at once) and counted the ADT windows apart (a
// quarantine threshold of N let 2N through). A ReplayStore of another
// type must likewise be given to one Ledger (NewLedger once, then
// Options.Ledger).
func NewLedger(replay ReplayStore) *Ledger {
	if replay == nil {
		replay = NewMemoryReplayStore()
	}
	if o, ok := replay.(interface{ ownLedger(func() *Ledger) *Ledger }); ok {
		return o.ownLedger(func() *Ledger { return newLedger(replay) })
	}
	return newLedger(replay)
}

// ledgerSlot is the one Ledger of the store that embeds it.
type ledgerSlot struct {
	mu  sync.Mutex
	led *Ledger
}

// ownLedger returns the store's Ledger, made by mk the first time.
func (l *ledgerSlot) ownLedger(mk func() *Ledger) *Ledger {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.led == nil {
		l.led = mk()
	}
	return l.led
}

func newLedger(replay ReplayStore) *Ledger {
	l := &Ledger{replay: replay, adt: map[adtKey]*adtWindow{}}
	if j, ok := replay.(Journal); ok {
		l.journal = j
		l.resumeADT(j.ADTState())
	}
	return l
}

// resumeADT installs windows recorded by a Journal, so that a restarted
// Verifier keeps counting and stays quarantined.
func (l *Ledger) resumeADT(states []ADTState) {
	for _, st := range states {
		w := &adtWindow{accepted: make([]int64, len(st.Accepted)), quarantinedUntil: st.QuarantinedUntil}
		for i, t := range st.Accepted {
			w.accepted[i] = adtNanos(t)
		}
		slices.Sort(w.accepted)
		l.adt[adtKey{user: st.User, srv: st.SRV}] = w
	}
}
