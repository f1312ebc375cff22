package verifier

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
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

// FileReplayStore is a ReplayStore that survives restarts: an append-only
// log of "<originator> <counter>" lines, replayed on open (the highest
// counter per originator wins, so a torn last line loses at most one
// record and never lowers a counter). Each Accept is one write(2) to an
// O_APPEND file: a process crash loses nothing; a power loss may lose what
// the OS had not flushed.
type FileReplayStore struct {
	mem *MemoryReplayStore
	mu  sync.Mutex
	f   *os.File
}

// OpenFileReplayStore opens (creating if needed) the log at path.
func OpenFileReplayStore(path string) (*FileReplayStore, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReplayStore, err)
	}
	mem := NewMemoryReplayStore()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue // a torn final line from a crash
		}
		id, err1 := eui64.Parse(fields[0])
		c, err2 := strconv.ParseUint(fields[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if last, ok := mem.last[id]; !ok || c > last {
			mem.last[id] = c
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, fmt.Errorf("%w: read %s: %v", ErrReplayStore, path, err)
	}
	return &FileReplayStore{mem: mem, f: f}, nil
}

// Last implements ReplayStore.
func (s *FileReplayStore) Last(o eui64.ID) (uint64, bool) { return s.mem.Last(o) }

// Accept implements ReplayStore: the record is written before memory is
// updated, so an error leaves both unchanged.
func (s *FileReplayStore) Accept(o eui64.ID, c uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A leading newline isolates this record from a torn line left by a
	// crash; empty lines are skipped on load.
	if _, err := fmt.Fprintf(s.f, "\n%s %d", o.Hex(), c); err != nil {
		return fmt.Errorf("%w: %v", ErrReplayStore, err)
	}
	return s.mem.Accept(o, c)
}

// Close closes the log file.
func (s *FileReplayStore) Close() error { return s.f.Close() }
