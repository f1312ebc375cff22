package verifier

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
)

// stateHeader opens every state log in the current format. Each record is
// one line, terminated by '\n' (a line without it is torn):
//
//	C <originator hex> <counter>                    accepted counter
//	A <SC user hex> <SRV> <unix ns> <period ns>     one ADT count
//	Q <SC user hex> <SRV> <until unix ns>           a quarantine
//
// The highest counter and the latest quarantine win, so replaying
// duplicates (after a compaction) changes nothing.
const stateHeader = "smki-verifier-state 1\n"

// errStateCorrupt: a complete line of the log does not parse.
var errStateCorrupt = errors.New("corrupt record")

// load reads the log into memory, cuts a torn tail, converts a legacy log,
// and rewrites the log from what it read (a compaction), which leaves
// s.f open on a pre-allocated file whose records end at s.size. The
// rewrite drops whatever followed the last complete record: a torn line,
// or the remains of a group whose write did not finish (a hole of zeros
// then records), which a later write in place could otherwise join to
// the records again.
func (s *StateFile) load() error {
	data, err := os.ReadFile(s.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// The records end at the first zero byte (the pre-allocated rest).
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	switch {
	case len(data) == 0:
		// A new log: write the header through a compaction, which makes
		// the file and its directory entry durable.
	case !bytes.HasPrefix(data, []byte(stateHeader)) && !bytes.HasPrefix([]byte(stateHeader), data):
		// The headerless log of earlier versions: "\n<originator> <counter>"
		// records with the separator first, so its last record has no
		// '\n' and is complete. Rewrite it in the current format.
		s.loadLegacy(data)
	default:
		// A torn header (end < len(stateHeader)): nothing was ever
		// recorded.
		end := bytes.LastIndexByte(data, '\n') + 1
		if end > len(stateHeader) {
			for i, line := range strings.Split(string(data[len(stateHeader):end-1]), "\n") {
				if line == "" {
					continue
				}
				if err := s.replayLine(line); err != nil {
					return fmt.Errorf("line %d: %w: %v", i+2, errStateCorrupt, err)
				}
			}
		}
	}
	_, err = s.compact(s.snapshotLocked())
	return err
}

// replayLine applies one record.
func (s *StateFile) replayLine(line string) error {
	fields := strings.Split(line, " ")
	id := func(i int) (eui64.ID, error) {
		if len(fields[i]) != 16 {
			return eui64.ID{}, fmt.Errorf("bad id %q", fields[i])
		}
		return eui64.Parse(fields[i])
	}
	switch {
	case fields[0] == "C" && len(fields) == 3:
		o, err := id(1)
		if err != nil {
			return err
		}
		c, err := strconv.ParseUint(fields[2], 10, 64)
		if err != nil {
			return err
		}
		s.applyCounter(o, c)
	case fields[0] == "A" && len(fields) == 5:
		u, err := id(1)
		if err != nil {
			return err
		}
		at, err1 := strconv.ParseInt(fields[3], 10, 64)
		period, err2 := strconv.ParseInt(fields[4], 10, 64)
		if err := errors.Join(err1, err2); err != nil || !policy.ValidSRV(fields[2]) || period < 0 {
			return fmt.Errorf("bad ADT record %q", line)
		}
		s.applyADT(adtKey{u, fields[2]}, at, time.Duration(period))
	case fields[0] == "Q" && len(fields) == 4:
		u, err := id(1)
		if err != nil {
			return err
		}
		until, err := strconv.ParseInt(fields[3], 10, 64)
		if err != nil || !policy.ValidSRV(fields[2]) {
			return fmt.Errorf("bad quarantine record %q", line)
		}
		s.applyQuarantine(adtKey{u, fields[2]}, until)
	default:
		return fmt.Errorf("unknown record %q", line)
	}
	return nil
}

// loadLegacy reads the headerless format, as its reader did: lines that
// do not parse are skipped (a torn record lost at most itself).
func (s *StateFile) loadLegacy(data []byte) {
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) != 2 {
			continue
		}
		id, err1 := eui64.Parse(fields[0])
		c, err2 := strconv.ParseUint(fields[1], 10, 64)
		if err1 == nil && err2 == nil {
			s.applyCounter(id, c)
		}
	}
}
