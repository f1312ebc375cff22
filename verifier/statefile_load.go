package verifier

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
)

// stateHeader opens every state log in the current format (2). Each record
// is one line: its fields, a space, the CRC-32C (Castagnoli) of the fields
// as 8 lowercase hex digits, and '\n' (a line without it is torn):
//
//	C <originator hex> <counter> <crc>                  accepted counter
//	A <SC user hex> <SRV> <unix ns> <period ns> <crc>   one ADT count
//	Q <SC user hex> <SRV> <until unix ns> <crc>         a quarantine
//
// The highest counter and the latest quarantine win, so replaying
// duplicates (after a compaction) changes nothing. Lines whose checksum
// fails at the end of the log, with no good line after them, are the torn
// tail of an unanswered group and are dropped; a failing line followed by
// a good one is corruption, and the log is refused.
const stateHeader = "smki-verifier-state 2\n"

// stateHeaderV1 opens a log of format 1: the same records without the
// checksum. It is read, and rewritten in the current format on open.
const stateHeaderV1 = "smki-verifier-state 1\n"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// endRecord ends the record that starts at b[start:] with its checksum and
// '\n'.
func endRecord(b []byte, start int) []byte {
	sum := crc32.Checksum(b[start:], castagnoli)
	b = append(b, ' ')
	var be [4]byte
	binary.BigEndian.PutUint32(be[:], sum)
	b = hex.AppendEncode(b, be[:])
	return append(b, '\n')
}

// checkRecord returns line's fields without the checksum, and whether the
// checksum is there and matches.
func checkRecord(line string) (string, bool) {
	i := strings.LastIndexByte(line, ' ')
	if i < 0 || len(line)-i-1 != 8 {
		return "", false
	}
	want, err := hex.DecodeString(line[i+1:])
	if err != nil || strings.ToLower(line[i+1:]) != line[i+1:] {
		return "", false
	}
	return line[:i], crc32.Checksum([]byte(line[:i]), castagnoli) == binary.BigEndian.Uint32(want)
}

// hasHeader: data starts with header, or is a torn prefix of it.
func hasHeader(data []byte, header string) bool {
	return bytes.HasPrefix(data, []byte(header)) || bytes.HasPrefix([]byte(header), data)
}

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
	whole := len(data)
	// The records end at the first zero byte (the pre-allocated rest).
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	var rerr error
	switch {
	case len(data) == 0 && whole > 0:
		// Every log this package writes starts with its header (written
		// with the file, before its rename): zeros where it should be are
		// a lost block, not a new log.
		return notStateLog("it starts with zero bytes where its header should be")
	case len(data) == 0:
		// A new log (absent, or created empty): write the header through
		// a compaction, which makes the file and its directory entry
		// durable.
	case hasHeader(data, stateHeader):
		rerr = s.replayRecords(data[min(len(data), len(stateHeader)):], true)
	case hasHeader(data, stateHeaderV1):
		rerr = s.replayRecords(data[min(len(data), len(stateHeaderV1)):], false)
	default:
		// The headerless log of earlier versions: "\n<originator> <counter>"
		// records with the separator first, so its last record has no
		// '\n' and is complete. Rewrite it in the current format.
		rerr = s.loadLegacy(data)
	}
	if rerr != nil {
		return rerr
	}
	_, err = s.compact(s.snapshotLocked())
	return err
}

// replayRecords applies the complete lines of records (the log after its
// header; a torn header leaves none), checking each line's checksum if
// checked (format 2).
func (s *StateFile) replayRecords(records []byte, checked bool) error {
	end := bytes.LastIndexByte(records, '\n')
	if end < 0 {
		return nil
	}
	firstBad := -1
	for i, line := range strings.Split(string(records[:end]), "\n") {
		if line == "" {
			continue
		}
		if checked {
			fields, ok := checkRecord(line)
			if !ok {
				if firstBad < 0 {
					firstBad = i
				}
				continue
			}
			if firstBad >= 0 {
				return fmt.Errorf("line %d: %w: checksum mismatch before good records", firstBad+2, errStateCorrupt)
			}
			line = fields
		}
		if err := s.replayLine(line); err != nil {
			return fmt.Errorf("line %d: %w: %v", i+2, errStateCorrupt, err)
		}
	}
	// Lines from firstBad on, none good after: a torn tail, dropped.
	return nil
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

// errNotStateLog: the file is neither a state log nor the older
// headerless format. It is refused and left as it is: read as a log it
// would give no counter, and the rewrite on open would then erase it.
var errNotStateLog = errors.New("not a verifier state log")

// notStateLog is errNotStateLog with why, and what to do.
func notStateLog(why string) error {
	return fmt.Errorf("%w: %s; check that --state-file names this sidecar's state file, and if it does, restore it "+
		"from a backup (deleting it would let every request accepted before be replayed)", errNotStateLog, why)
}

// loadLegacy reads the headerless format: every record written as
// "\n<originator> <counter>", so the data starts with '\n' and only the
// last record can be torn (cut off by a crash: it lost at most itself).
// Anything else that does not parse means the file is not such a log.
func (s *StateFile) loadLegacy(data []byte) error {
	if data[0] != '\n' {
		return notStateLog(fmt.Sprintf("no %q header", strings.TrimSpace(stateHeader)))
	}
	lines := strings.Split(string(data[1:]), "\n")
	for i, line := range lines {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		var id eui64.ID
		var c uint64
		var err error
		if len(fields) != 2 {
			err = errors.New("not two fields")
		} else if id, err = eui64.Parse(fields[0]); err == nil {
			c, err = strconv.ParseUint(fields[1], 10, 64)
		}
		if err != nil {
			if i == len(lines)-1 {
				continue // the torn last record
			}
			return notStateLog(fmt.Sprintf("line %d is not a record of the older headerless format", i+2))
		}
		s.applyCounter(id, c)
	}
	return nil
}
