package verifier

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/internal/durable"
)

// The mark (issue: an older state file lowers the counters). A state log
// can be replaced by an older copy of itself (restored from a backup) or
// by another verifier's, and the log alone cannot tell: each is a whole,
// valid log, with lower counters. So beside the log (FILE.mark) the
// StateFile keeps a high-water mark of the log it last wrote: the log's
// identity (its I record, which a rewrite keeps) and the sequence of its
// last durable group (which a rewrite continues). It is written, whole or
// not at all (durable.Replace), on open, at Close, and after a group when
// the last one is older than markEvery: so it is at most about a second
// behind the log, and never ahead of it (a group is marked only once it
// is durable). On open the log must be the one the mark names and reach
// at least its group; anything else is refused with ErrStateRollback.

// markSuffix names the mark beside the log.
const markSuffix = ".mark"

// markMagic opens the mark's one line: magic, format, log identity, group
// sequence, then the line's CRC-32C (as a log record's).
const markMagic = "smki-verifier-state-mark 1"

// markEvery is how often, at most, the flusher writes the mark while
// groups are written (three syncs: the file, its rename, the directory).
const markEvery = time.Second

// stateMark is what a mark holds.
type stateMark struct {
	id  [logIDLen]byte
	seq uint64
}

// readMark reads the mark of the log at path; ok is false if there is none.
func readMark(path string) (m stateMark, ok bool, err error) {
	data, err := os.ReadFile(path + markSuffix)
	if errors.Is(err, os.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	fields, good := checkRecord(strings.TrimSuffix(string(data), "\n"))
	f := strings.Split(fields, " ")
	if !good || !strings.HasSuffix(string(data), "\n") || len(f) != 4 || f[0]+" "+f[1] != markMagic || len(f[2]) != 2*logIDLen {
		return m, false, errors.New("it is not a state file's mark")
	}
	if _, err := hex.Decode(m.id[:], []byte(f[2])); err != nil {
		return m, false, errors.New("it is not a state file's mark")
	}
	if m.seq, err = strconv.ParseUint(f[3], 10, 64); err != nil {
		return m, false, errors.New("it is not a state file's mark")
	}
	return m, true, nil
}

// writeMark records the log's identity and its last durable group beside
// it. Called by the flusher, or by open and Close around it.
func (s *StateFile) writeMark() error {
	b := append([]byte(markMagic), ' ')
	b = hex.AppendEncode(b, s.logID[:])
	b = append(b, ' ')
	b = strconv.AppendUint(b, s.gseq, 10)
	b = endRecord(b, 0)
	if err := durable.Replace(s.path+markSuffix, b, 0o600); err != nil {
		return err
	}
	s.markAt = time.Now()
	return nil
}

// logKind is what load found at path.
type logKind int

const (
	logNew     logKind = iota // no file, or an empty one
	logOlder                  // format 1, 2 or headerless: written before marks
	logCurrent                // format 3
)

// rollbackError: the log at path is older than, or another than, the one
// its mark names (ErrStateRollback).
type rollbackError struct {
	path, why string
}

func (e *rollbackError) Error() string {
	return fmt.Sprintf("%v: %s: %s. Its counters may be lower than ones this verifier already accepted, so a request "+
		"accepted since could be accepted again: it is not opened and is left as it is. Give --state-file the newest state "+
		"(the file this verifier last wrote, with its %s). Only if there is none newer (it was lost), start once with "+
		"--state-recover (StateFileOptions.Recover), which adopts this file and marks it as the one: requests accepted "+
		"after it was copied could then be accepted once more", ErrStateRollback, e.path, e.why, e.path+markSuffix)
}

func (e *rollbackError) Unwrap() error { return ErrStateRollback }

// checkMark compares the log just read (kind; s.logID and s.gseq for a
// current one) with the mark beside it.
func (s *StateFile) checkMark(kind logKind) error {
	m, ok, err := readMark(s.path)
	rb := func(format string, a ...any) error {
		return &rollbackError{path: s.path, why: fmt.Sprintf(format, a...)}
	}
	switch {
	case err != nil:
		return rb("its mark %s cannot be read (%v)", s.path+markSuffix, err)
	case !ok && kind == logCurrent:
		return rb("there is no mark beside it (%s): it is not the log this verifier last wrote here, but a copy (from "+
			"another verifier, or restored from a backup without its mark)", s.path+markSuffix)
	case !ok:
		return nil // a new log, or the first open since the upgrade to marks
	case m.seq == 0 && kind != logCurrent:
		// Marked at the first open, before the log's first rewrite: a
		// crash came between. The rewrite takes the mark's identity.
		s.logID = m.id
		return nil
	case kind == logNew:
		return rb("the file is missing or empty, but its mark says the log here reached group %d: the state was lost, "+
			"moved or deleted", m.seq)
	case kind == logOlder:
		return rb("the file is in a format older than the log its mark names (group %d): a copy from before an upgrade", m.seq)
	case m.id != s.logID:
		return rb("the file is log %x, but the log this verifier last wrote here is %x: another verifier's state, or "+
			"a copy of an earlier one", s.logID, m.id)
	case s.gseq < m.seq:
		return rb("the file ends at group %d, but this log reached group %d here: an older copy (a backup), missing "+
			"%d groups of accepted requests", s.gseq, m.seq, m.seq-s.gseq)
	}
	return nil
}
