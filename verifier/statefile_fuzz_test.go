package verifier

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
)

// memState is a StateFile with only what replay fills (no file, no lock).
func memState() *StateFile {
	return &StateFile{last: map[eui64.ID]uint64{}, adt: map[adtKey]*adtLog{}}
}

// FuzzStateLogReplay: the state log (a file on disk that a crash, a bad
// disk or a hand edit can leave in any shape) replays to a state or is
// refused as damaged (ErrStateDamaged) or corrupt (errStateCorrupt,
// ErrReplayStore at OpenStateFile), never anything else; and the
// compaction of a state it accepted replays to the same state (what the
// rewrite on open keeps is what was read, pruned once).
func FuzzStateLogReplay(f *testing.F) {
	a := eui64.ID{0x90, 0xb3, 0xd5, 0x1f, 0x30, 0x01, 0, 1}
	var g []byte
	g = appendCounter(g, a, 9)
	g = appendADT(g, a, "1.6", time.Unix(1e9, 0).UnixNano(), time.Hour)
	g = appendQuarantine(g, a, "1.6", time.Unix(1e9+60, 0).UnixNano())
	log := logV3(string(g), rec("C 90b3d51f30010002 3"))
	f.Add([]byte(log[len(stateHeader):]))
	f.Add([]byte(log[len(stateHeader) : len(log)-7]))
	f.Add([]byte(zeroAt(log, "C 90b3d51f30010002 3")[len(stateHeader):]))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := memState()
		if err := s.replayFramed(body, len(stateHeader)); err != nil {
			if !errors.Is(err, ErrStateDamaged) && !errors.Is(err, errStateCorrupt) {
				t.Fatalf("refused as neither damaged nor corrupt: %v", err)
			}
			return
		}
		snap := s.snapshotLocked() // prunes s as it writes
		snap = appendGroupEnd(snap, len(stateHeader), s.gseq+1)
		back := memState()
		if err := back.replayFramed(snap[len(stateHeader):], len(stateHeader)); err != nil {
			t.Fatalf("the compaction of an accepted log does not replay: %v\n%q", err, snap)
		}
		if !maps.Equal(s.last, back.last) {
			t.Fatalf("counters %v, after compaction %v", s.last, back.last)
		}
		if len(s.adt) < len(back.adt) {
			t.Fatalf("%d ADT windows, after compaction %d", len(s.adt), len(back.adt))
		}
		for k, l := range back.adt {
			o := s.adt[k]
			if o == nil || o.until != l.until || o.period != l.period || !slices.Equal(slices.Sorted(slices.Values(o.at)), slices.Sorted(slices.Values(l.at))) {
				t.Fatalf("ADT window %v: %+v, after compaction %+v", k, o, l)
			}
		}
	})
}
