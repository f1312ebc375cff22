package verifier

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyFile copies from to to (a backup taken, or restored).
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStateFileRollback: a state log older than the one this verifier
// last wrote at its path, or another one, is refused (E_STATE_ROLLBACK,
// naming the file, why and what to do; the file left as it is), since its
// counters can be lower than ones already accepted; with Recover it is
// adopted. Before, each of these opened and the replays it allowed were
// accepted.
func TestStateFileRollback(t *testing.T) {
	t.Parallel()
	a := originator(1)
	// run opens the log at path, accepts a's counters from..to one group
	// each (after backup, if not nil, runs at from+1), and closes it (or,
	// crash, abandons it).
	run := func(t *testing.T, path string, from, to uint64, crash bool, backup func()) {
		t.Helper()
		st := openState(t, path, StateFileOptions{markAlways: true})
		for c := from; c <= to; c++ {
			if c == from+1 && backup != nil {
				backup()
			}
			if err := st.Accept(a, c); err != nil {
				t.Fatal(err)
			}
		}
		if !crash {
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string) // leaves at path what the next open meets
		want    uint64                          // a's counter after a Recover open
		why     string                          // in the refusal
	}{
		{"a backup restored after a clean stop", func(t *testing.T, path string) {
			bak := path + ".bak"
			run(t, path, 1, 5, false, func() { copyFile(t, path, bak) })
			copyFile(t, bak, path)
		}, 1, "an older copy"},
		{"a backup taken while running, restored after a crash", func(t *testing.T, path string) {
			src := filepath.Join(t.TempDir(), "state.log")
			bak := src + ".bak"
			run(t, src, 1, 3, true, func() { copyFile(t, src, bak) }) // src is abandoned, not closed
			copyFile(t, src+markSuffix, path+markSuffix)
			copyFile(t, bak, path)
		}, 1, "an older copy"},
		{"another verifier's log", func(t *testing.T, path string) {
			other := filepath.Join(t.TempDir(), "state.log")
			run(t, path, 1, 5, false, nil)
			run(t, other, 1, 2, false, nil)
			copyFile(t, other, path)
		}, 2, "another verifier's state"},
		{"a copy without its mark (a standby on another host)", func(t *testing.T, path string) {
			src := filepath.Join(t.TempDir(), "state.log")
			run(t, src, 1, 4, false, nil)
			copyFile(t, src, path)
		}, 4, "no mark beside it"},
		{"the log deleted, its mark left", func(t *testing.T, path string) {
			run(t, path, 1, 5, false, nil)
			os.Remove(path)
		}, 0, "missing or empty"},
		{"a log of an older format over a current one", func(t *testing.T, path string) {
			run(t, path, 1, 5, false, nil)
			os.WriteFile(path, []byte(stateHeaderV2+rec("C "+strings.ToLower(a.Hex())+" 2")), 0o600)
		}, 2, "format older"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "state.log")
			tt.prepare(t, path)
			before, _ := os.ReadFile(path)
			_, err := OpenStateFile(path, StateFileOptions{})
			if !errors.Is(err, ErrStateRollback) || !strings.HasPrefix(err.Error(), "E_STATE_ROLLBACK: "+path+": ") ||
				!strings.Contains(err.Error(), tt.why) || !strings.Contains(err.Error(), "--state-recover") {
				t.Fatalf("open: %v\nwant E_STATE_ROLLBACK naming the file, %q and --state-recover", err, tt.why)
			}
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Fatal("a refused log was modified")
			}
			st := openState(t, path, StateFileOptions{Recover: true})
			if c, _ := st.Last(a); c != tt.want {
				t.Errorf("adopted: counter %d, want %d", c, tt.want)
			}
			if r := st.Recovered(); !strings.Contains(r, "E_STATE_ROLLBACK") {
				t.Errorf("Recovered() = %q, want the rollback adopted", r)
			}
			if err := st.Accept(a, 10); err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			// Adopted: it is now the log this verifier last wrote.
			re := openState(t, path, StateFileOptions{})
			defer re.Close()
			if c, _ := re.Last(a); c != 10 {
				t.Errorf("reopened: counter %d, want 10", c)
			}
		})
	}
}

// TestStateFileMarkFollows: what must keep opening does: a crash at any
// point (the mark is never ahead of the log), a compaction (the identity
// and the numbering go on), a log of the older format met for the first
// time (an upgrade), a new file.
func TestStateFileMarkFollows(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.log")
	st := openState(t, path, StateFileOptions{markAlways: true, CompactBytes: 2048, PreallocBytes: 512, MaxDelay: -1})
	for c := uint64(1); c <= 200; c++ {
		if err := st.Accept(originator(int(c%7)), c); err != nil {
			t.Fatal(err)
		}
	}
	if st.Stats().Compactions == 0 {
		t.Fatal("no compaction")
	}
	re := openState(t, crashCopy(t, path), StateFileOptions{})
	if c, _ := re.Last(originator(4)); c != 200 {
		t.Errorf("after a crash: %d, want 200", c)
	}
	re.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	re = openState(t, path, StateFileOptions{})
	re.Close()
	// An upgrade: a format-2 log with no mark beside it.
	old := filepath.Join(t.TempDir(), "state.log")
	os.WriteFile(old, []byte(stateHeaderV2+rec("C "+strings.ToLower(originator(1).Hex())+" 9")), 0o600)
	up := openState(t, old, StateFileOptions{})
	up.Close()
	up = openState(t, old, StateFileOptions{})
	defer up.Close()
	if c, _ := up.Last(originator(1)); c != 9 {
		t.Errorf("upgraded: %d, want 9", c)
	}
}
