package verifier

import (
	"sync"

	"github.com/smki/smki/eui64"
)

// ReplayStore remembers, per originator, the counter of the last accepted
// Service Request. The Verifier serialises its calls (it holds its own lock
// across Last and Accept), so an implementation need not be safe for
// concurrent use by several Verifiers.
type ReplayStore interface {
	// Last returns the last accepted counter of originator, and false if
	// none was ever accepted.
	Last(originator eui64.ID) (uint64, bool)
	// Accept records counter as the last accepted one for originator. An
	// error makes the Verifier reject the request (it fails closed).
	Accept(originator eui64.ID, counter uint64) error
}

// MemoryReplayStore is a ReplayStore held in memory (lost on restart).
type MemoryReplayStore struct {
	ledgerSlot
	mu   sync.Mutex
	last map[eui64.ID]uint64
}

// NewMemoryReplayStore returns an empty in-memory store.
func NewMemoryReplayStore() *MemoryReplayStore {
	return &MemoryReplayStore{last: make(map[eui64.ID]uint64)}
}

// Last implements ReplayStore.
func (m *MemoryReplayStore) Last(o eui64.ID) (uint64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.last[o]
	return v, ok
}

// Accept implements ReplayStore.
func (m *MemoryReplayStore) Accept(o eui64.ID, c uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last[o] = c
	return nil
}
