package verifier

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/eui64"
)

func openState(t *testing.T, path string, o StateFileOptions) *StateFile {
	t.Helper()
	s, err := OpenStateFile(path, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// crashCopy is what a crash leaves: the log's bytes at this instant,
// copied to a fresh path, while the original store is simply abandoned
// (no Close, its flusher still running).
func crashCopy(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "after-crash.log")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// The mark beside it, as the crash left it too.
	if mark, err := os.ReadFile(path + markSuffix); err == nil {
		if err := os.WriteFile(p+markSuffix, mark, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// rec is one format-2 record line: fields, checksum, '\n'.
func rec(fields string) string { return string(endRecord([]byte(fields), 0)) }

// logV3 is a format-3 log: its identity, then each group's records ended
// by its G record.
func logV3(groups ...string) string {
	b := []byte(stateHeader)
	start := len(b)
	b = append(b, rec("I "+strings.Repeat("ab", logIDLen))...)
	for i, g := range groups {
		b = append(b, g...)
		b = appendGroupEnd(b, start, uint64(i+1))
		start = len(b)
	}
	return string(b)
}

// zeroAt puts a zero byte into log where fields first occur.
func zeroAt(log, fields string) string {
	i := strings.Index(log, fields)
	return log[:i+2] + "\x00" + log[i+3:]
}

// zeroLine replaces the line with fields by zeros (a lost sector).
func zeroLine(log, fields string) string {
	l := rec(fields)
	return strings.Replace(log, l, strings.Repeat("\x00", len(l)), 1)
}

// dropGroup removes group n (1-based) of a format-3 log, its end included.
func dropGroup(log string, n int) string {
	lines := strings.SplitAfter(log, "\n")
	var out strings.Builder
	group := 1
	for _, l := range lines {
		if group != n {
			out.WriteString(l)
		}
		if strings.HasPrefix(l, "G ") {
			group++
		}
	}
	return out.String()
}

func originator(i int) eui64.ID { return eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0x10, 0, byte(i)} }

// acceptConcurrently accepts counters 1..each of originators 0..workers-1,
// one goroutine per originator, and returns when every Accept has.
func acceptConcurrently(t *testing.T, st *StateFile, workers, each int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for c := uint64(1); c <= uint64(each); c++ {
				if err := st.Accept(originator(w), c); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// checkCrashed: after acceptConcurrently(st, workers, each), grouping
// happened (fewer syncs than records), and the log copied at crashed
// holds every originator's last counter.
func checkCrashed(t *testing.T, st *StateFile, crashed string, workers, each int) {
	t.Helper()
	if s := st.Stats(); s.Records != uint64(workers*each) || s.Syncs >= s.Records {
		t.Errorf("stats %+v: want %d records in fewer syncs", s, workers*each)
	}
	re := openState(t, crashed, StateFileOptions{})
	defer re.Close()
	for w := range workers {
		if c, ok := re.Last(originator(w)); !ok || c != uint64(each) {
			t.Errorf("originator %d after crash: %d, %v; want %d", w, c, ok, each)
		}
	}
}

// TestStateFileCrashSafety: every counter whose Accept returned is in the
// log at that moment, so a crash right after finds all of them; grouping
// really happens (fewer fsyncs than records) under concurrency.
func TestStateFileCrashSafety(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.log")
	st := openState(t, path, StateFileOptions{MaxDelay: 2 * time.Millisecond})
	const workers, each = 8, 40
	acceptConcurrently(t, st, workers, each)
	crashed := crashCopy(t, path) // st is abandoned, not closed
	checkCrashed(t, st, crashed, workers, each)
}

// TestStateFileOpen: what a reopen makes of each kind of log.
func TestStateFileOpen(t *testing.T) {
	t.Parallel()
	a, b := originator(1), originator(2)
	ah, bh := strings.ToLower(a.Hex()), strings.ToLower(b.Hex())
	tests := []struct {
		name    string
		content string
		want    map[eui64.ID]uint64
		wantErr error
	}{
		{"new file", "", map[eui64.ID]uint64{}, nil},
		{"torn last line", stateHeaderV1 + "C " + ah + " 5\nC " + bh + " 7\nC " + ah + " 9", map[eui64.ID]uint64{a: 5, b: 7}, nil},
		{"torn header", stateHeaderV1[:6], map[eui64.ID]uint64{}, nil},
		{"highest counter wins", stateHeaderV1 + "C " + ah + " 9\nC " + ah + " 5\n", map[eui64.ID]uint64{a: 9}, nil},
		{"legacy format", "\n" + a.Hex() + " 5\n" + a.Hex() + " 6\n" + b.Hex() + " 3", map[eui64.ID]uint64{a: 6, b: 3}, nil},
		{"corrupt complete line", stateHeaderV1 + "C " + ah + " 5\nC zz 7\nC " + bh + " 1\n", nil, ErrReplayStore},
		{"unknown record", stateHeaderV1 + "X " + ah + " 5\n", nil, ErrReplayStore},
		{"bad SRV", stateHeaderV1 + "Q " + ah + " 1.6;x 5\n", nil, ErrReplayStore},
		// Pre-allocated: the records end at the first zero byte; what
		// follows a hole (a group whose write did not finish) is not read,
		// nor joined to the records by the next write in place.
		{"zeros after the records", stateHeaderV1 + "C " + ah + " 5\n" + strings.Repeat("\x00", 64), map[eui64.ID]uint64{a: 5}, nil},
		// A hole followed by a complete record: lost records of requests
		// already accepted, or an unanswered group? Format 1 cannot tell:
		// refused (it dropped everything after the hole).
		{"records after a hole", stateHeaderV1 + "C " + ah + " 5\nC " + bh + " 7\nC " + ah + "\x00\x00 9\nC " + bh + " 8\n\x00",
			nil, ErrStateDamaged},
		{"torn line then zeros", stateHeaderV1 + "C " + ah + " 5\nC " + bh + " 7\x00\x00", map[eui64.ID]uint64{a: 5}, nil},
		// Format 2: every line carries its CRC-32C.
		{"checked records", stateHeaderV2 + rec("C "+ah+" 5") + rec("C "+bh+" 7") + rec("C "+ah+" 9"), map[eui64.ID]uint64{a: 9, b: 7}, nil},
		{"checked torn last line", stateHeaderV2 + rec("C "+ah+" 5") + rec("C " + bh + " 7")[:10], map[eui64.ID]uint64{a: 5}, nil},
		{"checksum fails at the end: torn tail dropped", stateHeaderV2 + rec("C "+ah+" 5") + rec("C " + bh + " 7")[:20] + "x" + rec("C " + bh + " 7")[21:] + rec("C " + ah + " 9")[:3] + "\n",
			map[eui64.ID]uint64{a: 5}, nil},
		{"checksum fails before a good line", stateHeaderV2 + rec("C "+ah+" 5") + strings.Replace(rec("C "+bh+" 7"), " 7 ", " 8 ", 1) + rec("C "+ah+" 9"), nil, ErrStateDamaged},
		{"checksum missing", stateHeaderV2 + rec("C "+ah+" 5") + "C " + bh + " 7\n" + rec("C "+ah+" 9"), nil, ErrStateDamaged},
		{"checksum in capitals", stateHeaderV2 + strings.ToUpper(rec("c "+ah+" 5")) + rec("C "+ah+" 9"), nil, ErrStateDamaged},
		{"good checksum, bad record", stateHeaderV2 + rec("C zz 5") + rec("C "+ah+" 9"), nil, ErrReplayStore},
		// A zero byte (a disk fault, a lost block) in the middle of the
		// log: the records after it were accepted, and dropping them
		// would let those requests be replayed.
		{"zero byte inside a record, good records after", stateHeaderV2 + rec("C "+ah+" 5") + strings.Replace(rec("C "+bh+" 7"), "7", "\x00", 1) + rec("C "+ah+" 9") + rec("C "+bh+" 11"), nil, ErrStateDamaged},
		{"zeros between records, good records after", stateHeaderV2 + rec("C "+ah+" 5") + strings.Repeat("\x00", 100) + rec("C "+bh+" 7") + rec("C "+ah+" 9"), nil, ErrStateDamaged},
		// Not a state log: a damaged header, another file named by
		// mistake, a lost first block. Read as the legacy format (whose
		// reader skipped what did not parse) they gave no counter, and
		// the log was rewritten empty: every request accepted before
		// could be replayed.
		{"damaged header", strings.Replace(stateHeader, "state", "stat3", 1) + rec("C "+ah+" 5") + rec("C "+bh+" 7"), nil, ErrReplayStore},
		{"another file", `{"version":1,"issued_at":"2026-01-01T00:00:00Z"}` + "\n", nil, ErrReplayStore},
		{"first block zeroed", strings.Repeat("\x00", 64) + rec("C "+ah+" 5") + rec("C "+bh+" 7"), nil, ErrReplayStore},
		{"zeros only", strings.Repeat("\x00", 4096), nil, ErrReplayStore},
		{"legacy line that does not parse", "\n" + a.Hex() + " 5\nnot a record\n" + b.Hex() + " 3", nil, ErrReplayStore},
		// Format 3: records in groups, each ended by a G record.
		{"groups", logV3(rec("C "+ah+" 5"), rec("C "+bh+" 7")+rec("C "+ah+" 9")), map[eui64.ID]uint64{a: 9, b: 7}, nil},
		{"unanswered group with a hole after the last whole one", logV3(rec("C "+ah+" 5")) + rec("C " + bh + " 7")[:10] + strings.Repeat("\x00", 50) + rec("C " + bh + " 8")[12:] + rec("C "+ah+" 9") + rec("C " + bh + " 8")[:5],
			map[eui64.ID]uint64{a: 9}, nil},
		{"unanswered group torn, zeros after", logV3(rec("C "+ah+" 5")) + rec("C " + bh + " 7")[:10] + strings.Repeat("\x00", 4096), map[eui64.ID]uint64{a: 5}, nil},
		{"zero byte inside an answered group", zeroAt(logV3(rec("C "+ah+" 5"), rec("C "+bh+" 7")+rec("C "+ah+" 9"), rec("C "+bh+" 11")), "C "+bh+" 7"), nil, ErrStateDamaged},
		{"answered line zeroed whole", zeroLine(logV3(rec("C "+ah+" 5"), rec("C "+bh+" 7")+rec("C "+ah+" 9"), rec("C "+bh+" 11")), "C "+bh+" 7"), nil, ErrStateDamaged},
		{"answered line missing", strings.Replace(logV3(rec("C "+ah+" 5"), rec("C "+bh+" 7")+rec("C "+ah+" 9"), rec("C "+bh+" 11")), rec("C "+bh+" 7"), "", 1), nil, ErrStateDamaged},
		{"group missing", dropGroup(logV3(rec("C "+ah+" 5"), rec("C "+bh+" 7"), rec("C "+ah+" 9")), 2), nil, ErrStateDamaged},
		{"group end damaged", zeroAt(logV3(rec("C "+ah+" 5"), rec("C "+bh+" 7"), rec("C "+ah+" 9")), "G 2 "), nil, ErrStateDamaged},
		// The last group damaged but ended: an unanswered group whose end
		// reached the disk before its start, or damage to an answered one;
		// which, nothing tells: refused.
		{"last group damaged", zeroAt(logV3(rec("C "+ah+" 5"), rec("C "+bh+" 7")), "C "+bh+" 7"), nil, ErrStateDamaged},
		{"first block zeroed (format 3)", strings.Repeat("\x00", 64) + logV3(rec("C " + ah + " 5"))[64:], nil, ErrReplayStore},
		{"legacy torn last record", "\n" + a.Hex() + " 5\n" + b.Hex()[:7], map[eui64.ID]uint64{a: 5}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "state.log")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if strings.HasPrefix(tt.content, stateHeader) {
				// This verifier's log (logV3's identity): its mark beside it.
				mark := endRecord([]byte(markMagic+" "+strings.Repeat("ab", logIDLen)+" 1"), 0)
				if err := os.WriteFile(path+markSuffix, mark, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			st, err := OpenStateFile(path, StateFileOptions{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if got, _ := os.ReadFile(path); string(got) != tt.content {
					t.Fatal("a refused log was modified")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for id, c := range tt.want {
				if got, ok := st.Last(id); !ok || got != c {
					t.Errorf("%s = %d, %v; want %d", id, got, ok, c)
				}
			}
			// A record appended now starts its own line (a torn tail was
			// cut), and everything survives another reopen.
			if err := st.Accept(a, 100); err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			re := openState(t, path, StateFileOptions{})
			defer re.Close()
			// Whatever the format read, the log is now in the current one.
			if data, err := os.ReadFile(path); err != nil || !bytes.HasPrefix(data, []byte(stateHeader)) {
				t.Errorf("reopened log does not start with the current header (%v)", err)
			}
			tt.want[a] = 100
			for id, c := range tt.want {
				if got, ok := re.Last(id); !ok || got != c {
					t.Errorf("reopened: %s = %d, %v; want %d", id, got, ok, c)
				}
			}
		})
	}
}

// TestStateFileRecover: a log damaged before its last whole group is
// refused (ErrStateDamaged, naming the file, the bytes and what to do,
// the file left as it is); with Recover it opens from every intact record,
// keeps the damaged file beside it and says so, and the rewritten log
// reopens normally.
func TestStateFileRecover(t *testing.T) {
	t.Parallel()
	a, b := originator(1), originator(2)
	ah, bh := strings.ToLower(a.Hex()), strings.ToLower(b.Hex())
	content := zeroAt(logV3(rec("C "+ah+" 5"), rec("C "+bh+" 7")+rec("C "+ah+" 9"), rec("C "+bh+" 11")), "C "+ah+" 9")
	path := filepath.Join(t.TempDir(), "state.log")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenStateFile(path, StateFileOptions{})
	if !errors.Is(err, ErrStateDamaged) || !strings.HasPrefix(err.Error(), "E_STATE_DAMAGED: "+path+": ") ||
		!strings.Contains(err.Error(), "--state-recover") {
		t.Fatalf("open of a damaged log: %v, want E_STATE_DAMAGED naming the file and --state-recover", err)
	}
	st := openState(t, path, StateFileOptions{Recover: true})
	if c, _ := st.Last(a); c != 5 {
		t.Errorf("recovered %s = %d, want 5 (its 9 was in the damaged bytes)", a, c)
	}
	if c, _ := st.Last(b); c != 11 {
		t.Errorf("recovered %s = %d, want 11", b, c)
	}
	if r := st.Recovered(); !strings.Contains(r, "E_STATE_DAMAGED") || !strings.Contains(r, path+".damaged") {
		t.Errorf("Recovered() = %q, want what was damaged and where the file was kept", r)
	}
	if kept, err := os.ReadFile(path + ".damaged"); err != nil || string(kept) != content {
		t.Errorf("the damaged log was not kept as it was (%v)", err)
	}
	if err := st.Accept(a, 10); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	re := openState(t, path, StateFileOptions{})
	defer re.Close()
	if ca, _ := re.Last(a); ca != 10 {
		t.Errorf("reopened: %s = %d, want 10", a, ca)
	}
	if re.Recovered() != "" {
		t.Errorf("a whole log reports %q", re.Recovered())
	}
}

// TestStateFileCompaction: past the size bound the log is rewritten to
// the live state (the last counter per originator, the ADT times a window
// can still count, the quarantine), atomically, and keeps working.
func TestStateFileCompaction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.log")
	st := openState(t, path, StateFileOptions{MaxDelay: -1, CompactBytes: 2048, PreallocBytes: 512})
	user, srv := originator(9), "1.6"
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 300 {
		rec := &ADTRecord{User: user, SRV: srv, At: base.Add(time.Duration(i) * 10 * time.Second), Period: time.Minute}
		tk, err := st.Stage(originator(i%3), uint64(i+1), rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Wait(tk); err != nil {
			t.Fatal(err)
		}
	}
	until := base.Add(10 * time.Hour)
	tk, err := st.StageQuarantine(user, srv, until)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Wait(tk); err != nil {
		t.Fatal(err)
	}
	if s := st.Stats(); s.Compactions == 0 {
		t.Fatalf("no compaction: %+v", s)
	}
	crashed := crashCopy(t, path)
	// The records (up to the first zero byte) are bounded, and so is the
	// file: the records plus the zeros written ahead, to a whole block.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	records := len(data)
	if i := bytes.IndexByte(data, 0); i >= 0 {
		records = i
	}
	if records > 3*2048 || int64(len(data)) > roundUp(int64(records+2*512), logBlock) {
		t.Fatalf("log not bounded: %d bytes of records, %d in all", records, len(data))
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left behind: %v", err)
	}
	re := openState(t, crashed, StateFileOptions{})
	defer re.Close()
	for i := range 3 {
		want := uint64(300 - 2 + i) // the last counter of originator i: i+1 + 3k <= 300
		if (want-1)%3 != uint64(i) {
			want -= 3
		}
		if c, ok := re.Last(originator(i)); !ok || c != want {
			t.Errorf("originator %d = %d, %v; want %d", i, c, ok, want)
		}
	}
	states := re.ADTState()
	if len(states) != 1 || !states[0].QuarantinedUntil.Equal(until) {
		t.Fatalf("ADT state %+v", states)
	}
	newest := base.Add(299 * 10 * time.Second)
	inWindow := 0
	for _, at := range states[0].Accepted {
		if at.After(newest.Add(-time.Minute)) {
			inWindow++
		}
	}
	// Compaction dropped what no window can count (only what was appended
	// since the last compaction may still be older than two periods).
	if n := len(states[0].Accepted); n >= 150 {
		t.Errorf("%d ADT times kept of 300", n)
	}
	if inWindow != 6 {
		t.Errorf("%d counts in the last period, want 6", inWindow)
	}
}

// TestStateFileCompactionKeepsSkewedCounts: compaction keeps every ADT
// time a window can still count after the clock steps back by the skew,
// for a period shorter than the skew too. It kept two periods before the
// newest time: with a one-minute period and one request dated three
// minutes ahead (the clock wrong, then corrected), the five requests
// before it were dropped, and after a restart a burst over the quarantine
// threshold was let through.
func TestStateFileCompactionKeepsSkewedCounts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.log")
	st := openState(t, path, StateFileOptions{MaxDelay: -1, CompactBytes: 2048, PreallocBytes: 512})
	user, srv := originator(9), "1.6"
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	stage := func(o eui64.ID, ctr uint64, rec *ADTRecord) {
		t.Helper()
		tk, err := st.Stage(o, ctr, rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Wait(tk); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		stage(user, uint64(i+1), &ADTRecord{User: user, SRV: srv, At: base, Period: time.Minute})
	}
	stage(user, 6, &ADTRecord{User: user, SRV: srv, At: base.Add(3 * time.Minute), Period: time.Minute})
	for i := range 200 { // other originators' counters, until the log is compacted
		stage(originator(100+i%50), uint64(i+1), nil)
	}
	if s := st.Stats(); s.Compactions == 0 {
		t.Fatalf("no compaction: %+v", s)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	re := openState(t, path, StateFileOptions{})
	defer re.Close()
	states := re.ADTState()
	if len(states) != 1 {
		t.Fatalf("ADT state %+v", states)
	}
	kept := 0
	for _, at := range states[0].Accepted {
		if at.Equal(base) {
			kept++
		}
	}
	if kept != 5 {
		t.Fatalf("after compaction and a restart %d of the 5 requests at the window's start are kept (%v), want 5: "+
			"the clock back from %s to %s counts them", kept, states[0].Accepted, base.Add(3*time.Minute), base.Add(50*time.Second))
	}
}

// TestFinding13StateNotDurable (issue 12 finding 13): once a write fails,
// every accept fails, and a Verifier on the store rejects rather than
// accepting unrecorded, with its own code STATE (not REPLAY), one ERROR log
// line, the smki_verifier_state_durable gauge at 0, the STATE decision
// counted, and /readyz failing while /healthz stays up.
func TestFinding13StateNotDurable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.log")
	st := openState(t, path, StateFileOptions{MaxDelay: -1})
	s := newScenario(t)
	var logs bytes.Buffer
	var logMu sync.Mutex
	v := s.verifier(t, func(o *Options) {
		o.Replay = st
		o.Logger = slog.New(slog.NewJSONHandler(lockedWriter{&logMu, &logs}, nil))
	})
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, v)
	if err != nil {
		t.Fatal(err)
	}
	h := InstrumentedHandler(m, 0)
	get := func(path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code
	}
	mustAccept(t, v, sign(t, request(t, tmplCredit, userSC, devA1, 1), s.sc, false))
	if c := get("/readyz"); c != http.StatusOK {
		t.Fatalf("readyz on a healthy store: %d", c)
	}
	// The disk goes away under the flusher (both files the groups may be
	// written through).
	if st.df != nil {
		st.df.Close()
	}
	st.f.Close()
	if err := st.Accept(originator(1), 1); !errors.Is(err, ErrReplayStore) {
		t.Fatalf("Accept after a write failure: %v", err)
	}
	for c := uint64(2); c <= 3; c++ {
		if d := m.Verify(sign(t, request(t, tmplCredit, userSC, devA1, c), s.sc, false), testNow.Add(time.Minute)); d.Code != CodeSTATE {
			t.Fatalf("verify on a failed store: %+v", d)
		}
	}
	logMu.Lock()
	errLines := strings.Count(logs.String(), `"level":"ERROR"`)
	logMu.Unlock()
	if errLines != 1 {
		t.Fatalf("%d ERROR log lines for the failed state, want 1:\n%s", errLines, logs.String())
	}
	if c := get("/readyz"); c != http.StatusServiceUnavailable {
		t.Fatalf("readyz on a failed store: %d", c)
	}
	if c := get("/healthz"); c != http.StatusOK {
		t.Fatalf("healthz (liveness) on a failed store: %d", c)
	}
	if got := gaugeValue(t, reg, "smki_verifier_state_durable"); got != 0 {
		t.Fatalf("smki_verifier_state_durable = %v, want 0", got)
	}
	if got := counterValue(t, reg, "smki_verifier_decisions_total", "code", CodeSTATE); got != 2 {
		t.Fatalf("STATE decisions counted %v, want 2", got)
	}
	if err := st.Close(); !errors.Is(err, ErrReplayStore) {
		t.Fatalf("Close = %v", err)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// gaugeValue and counterValue read one metric from reg (the counter by one
// label value).
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	return metricValue(t, reg, name, "", "")
}

func counterValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	return metricValue(t, reg, name, label, value)
}

func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					match = true
				}
			}
			if !match {
				continue
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s{%s=%q} not found", name, label, value)
	return 0
}

// TestADTSurvivesRestart: a restarted sidecar resumes the ADT count from
// the state file and stays quarantined.
func TestADTSurvivesRestart(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	path := filepath.Join(t.TempDir(), "state.log")
	msg := func(c uint64) []byte { return sign(t, request(t, tmplCredit, userSC, devA1, c), s.sc, false) }
	base := testNow.Add(time.Minute)
	start := func(p string) (*Verifier, *StateFile) {
		st := openState(t, p, StateFileOptions{})
		return s.verifier(t, func(o *Options) { o.Replay = st }), st
	}
	v, _ := start(path)
	for i := uint64(1); i <= 4; i++ {
		if d := v.Verify(msg(i), base.Add(time.Duration(i)*time.Second)); !d.Accepted() {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	// A crash: the first process is abandoned; the second sees its log.
	v, st := start(crashCopy(t, path))
	if d := v.Verify(msg(5), base.Add(5*time.Second)); !d.Accepted() || len(d.Warnings) == 0 {
		t.Fatalf("5th after restart, want accept with the ADT warning: %+v", d)
	}
	if d := v.Verify(msg(6), base.Add(10*time.Second)); d.Code != CodeAD1 {
		t.Fatalf("6th after restart, want AD1 (count resumed): %+v", d)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// After a second restart, the window has emptied but the quarantine
	// (one period from the AD1 at +10s) holds.
	v, st = start(st.path)
	defer st.Close()
	if d := v.Verify(msg(7), base.Add(time.Hour+6*time.Second)); d.Code != CodeAD1 {
		t.Fatalf("inside quarantine after restart: %+v", d)
	}
	if d := v.Verify(msg(8), base.Add(time.Hour+11*time.Second)); !d.Accepted() {
		t.Fatalf("after quarantine: %+v", d)
	}
	if d := v.Verify(msg(4), base.Add(time.Hour+12*time.Second)); d.Code != CodeREPLAY {
		t.Fatalf("replay across restarts: %+v", d)
	}
}

// TestStateFileWriteModes: direct I/O (each group rewrites the last,
// partial block of the records with the group appended) and the page
// cache with fdatasync leave the same log: every record once, in order,
// contiguous (no padding, no gap) across many block boundaries and
// extensions of the pre-allocated zeros, and a crash right after the last
// Accept returned finds every counter.
func TestStateFileWriteModes(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name     string
		buffered bool
	}{{"direct", false}, {"buffered", true}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "state.log")
			st := openState(t, path, StateFileOptions{PreallocBytes: logBlock, CompactBytes: 1 << 30, MaxDelay: 2 * time.Millisecond, buffered: mode.buffered})
			if !mode.buffered && !st.DirectIO() {
				// The temporary directory may be a tmpfs, which refuses
				// O_DIRECT: try the package directory's disk instead.
				st.Close()
				dir, err := os.MkdirTemp(".", "statefile-direct-")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(dir) })
				path = filepath.Join(dir, "state.log")
				st = openState(t, path, StateFileOptions{PreallocBytes: logBlock, CompactBytes: 1 << 30, MaxDelay: 2 * time.Millisecond})
			}
			if st.DirectIO() == mode.buffered {
				if !mode.buffered {
					t.Skipf("the file system of %s refuses O_DIRECT: the buffered subtest covers the fallback", path)
				}
				t.Fatal("buffered store writes with direct I/O")
			}
			const workers, each = 6, 150 // ~30 KiB of records: 8 blocks, 4 extensions
			acceptConcurrently(t, st, workers, each)
			crashed := crashCopy(t, path)
			data, err := os.ReadFile(crashed)
			if err != nil {
				t.Fatal(err)
			}
			if len(data)%logBlock != 0 {
				t.Errorf("log length %d is not whole blocks", len(data))
			}
			end := bytes.IndexByte(data, 0)
			if end < 0 || strings.Trim(string(data[end:]), "\x00") != "" {
				t.Fatal("the records are not followed by zeros only")
			}
			var lines []string
			var gseq uint64
			for i, l := range strings.Split(strings.TrimSuffix(string(data[len(stateHeader):end]), "\n"), "\n") {
				fields, ok := checkRecord(l)
				if !ok {
					t.Fatalf("line %d %q fails its checksum", i, l)
				}
				switch {
				case strings.HasPrefix(l, "I "):
				case strings.HasPrefix(l, "G "):
					seq, _, err := parseGroupEnd(fields)
					if err != nil || (gseq != 0 && seq != gseq+1) {
						t.Fatalf("line %d %q: group end out of sequence after %d (%v)", i, l, gseq, err)
					}
					gseq = seq
				default:
					lines = append(lines, l)
				}
			}
			if !bytes.HasPrefix(data, []byte(stateHeader)) || len(lines) != workers*each {
				t.Fatalf("%d record lines, want %d", len(lines), workers*each)
			}
			if !strings.HasPrefix(strings.TrimRight(string(data), "\x00")[strings.LastIndex(strings.TrimRight(string(data), "\x00")[:end-1], "\n")+1:], "G ") {
				t.Fatal("the log does not end with a group's end")
			}
			next := map[string]uint64{}
			for i, l := range lines {
				f := strings.Fields(l)
				if len(f) != 4 || f[0] != "C" || f[2] != strconv.FormatUint(next[f[1]]+1, 10) {
					t.Fatalf("record %d %q out of order or malformed", i, l)
				}
				next[f[1]]++
			}
			checkCrashed(t, st, crashed, workers, each)
		})
	}
}

// TestStateFileGroupTakesRunnable: the requests that are ready to run when
// a group's first record is staged join that group, instead of the flusher
// writing that one record alone and the others queueing behind its write.
// On one P the order is fixed: the first stager's kick makes the flusher
// run next, before the other stagers; without its yield it writes a group
// of one (a second sync, always). The scheduler serves its global queue,
// where the yield puts the flusher, every 61st round, which can cut a
// group short in one trial: so the test asks for one of five.
func TestStateFileGroupTakesRunnable(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	st := openState(t, filepath.Join(t.TempDir(), "state.log"), StateFileOptions{})
	defer st.Close()
	const stagers = 8
	var syncs []uint64
	for trial := range 5 {
		before := st.Stats().Syncs
		var wg sync.WaitGroup
		for w := range stagers {
			wg.Go(func() {
				if err := st.Accept(originator(w), uint64(trial+1)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		syncs = append(syncs, st.Stats().Syncs-before)
		if syncs[trial] == 1 {
			return
		}
	}
	t.Errorf("%d records staged by goroutines all runnable at once took %v syncs in five trials, never one", stagers, syncs)
}

// TestStateFileOneOpener: a state file is open in one StateFile at a
// time. A second (another sidecar given the same --state-file) is
// refused: both would append to it, each compaction would replace the
// other's log with its own view, and a counter one of them accepted
// could be accepted again by the other or lost at the next start. The
// first's Close (or its process's death: the lock is the kernel's)
// frees the file.
func TestStateFileOneOpener(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.log")
	first := openState(t, path, StateFileOptions{})
	if err := first.Accept(originator(1), 5); err != nil {
		t.Fatal(err)
	}
	second, err := OpenStateFile(path, StateFileOptions{})
	if err == nil {
		second.Close()
		t.Fatal("a second OpenStateFile of a file in use succeeded, want it refused")
	}
	if !errors.Is(err, ErrReplayStore) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v, want ErrReplayStore saying the file is in use", err)
	}
	// The refused open changed nothing: the first still records.
	if err := first.Accept(originator(1), 6); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	re := openState(t, path, StateFileOptions{})
	defer re.Close()
	if c, ok := re.Last(originator(1)); !ok || c != 6 {
		t.Fatalf("reopened after Close: %d, %v; want 6", c, ok)
	}
}

// TestStateFileThroughSymlink: a state file named through a symbolic
// link (a link in a runtime directory to the file on persistent storage)
// stays where the link points. Before, the rewrite on open (and every
// compaction) renamed the new log over the link itself: the link became a
// regular file beside it, the file it pointed to was left behind with the
// old records, and where the link lived on a temporary file system (a
// runtime directory) the counters were lost at the next boot.
func TestStateFileThroughSymlink(t *testing.T) {
	t.Parallel()
	disk, run := t.TempDir(), t.TempDir()
	target, link := filepath.Join(disk, "state.log"), filepath.Join(run, "state.log")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	st := openState(t, link, StateFileOptions{})
	if err := st.Accept(originator(1), 7); err != nil {
		t.Fatal(err)
	}
	// One file, one opener, by whichever name (TestStateFileOneOpener).
	if other, err := OpenStateFile(target, StateFileOptions{}); err == nil {
		other.Close()
		t.Fatal("the file opened by its own name while open through the link, want it refused")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link is no longer a symbolic link (%v, %v): the log was renamed over it", fi.Mode(), err)
	}
	re := openState(t, target, StateFileOptions{})
	defer re.Close()
	if c, ok := re.Last(originator(1)); !ok || c != 7 {
		t.Fatalf("the file the link points to: %d, %v; want 7", c, ok)
	}
}
