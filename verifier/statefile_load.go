package verifier

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/durable"
)

// stateHeader opens every state log in the current format (3). Each record
// is one line: its fields, a space, the CRC-32C (Castagnoli) of the fields
// as 8 lowercase hex digits, and '\n' (a line without it is torn):
//
//	I <log id hex>                                      the log's identity, first record of every rewrite
//	C <originator hex> <counter> <crc>                  accepted counter
//	A <SC user hex> <SRV> <unix ns> <period ns> <crc>   one ADT count
//	Q <SC user hex> <SRV> <until unix ns> <crc>         a quarantine
//	G <seq> <group crc> <crc>                           the end of a group
//
// Records are written in groups (one write and sync each; a rewrite of the
// log is one group), each ended by a G record: its sequence number, one
// more than the group before it (a rewrite continues the numbering), and
// the CRC-32C of the group's bytes from the end of the previous G line to
// the start of this one. A group is answered (its accepts reach their
// clients) only after its write, G line included, returned, and the next
// group is written only then. So on open:
//
//   - every group up to the last G line must be whole: the G line's
//     sequence follows the one before and its CRC matches. Anything else
//     (a zero byte, a line that fails its checksum, a line or a group
//     missing) is damage to records already answered: the log is refused
//     (ErrStateDamaged), since reading past it could lower a counter;
//   - after the last G line is the group that was being written when the
//     process stopped (a crash, a power loss: its blocks may have reached
//     the disk in any order, leaving holes of zeros), never answered: its
//     intact records are applied (they can only raise a counter or add a
//     count) and the rest is dropped.
//
// The highest counter and the latest quarantine win, so replaying
// duplicates (after a compaction) changes nothing. The log's identity and
// the sequence of its last whole group are what its mark records
// (statemark.go).
const stateHeader = "smki-verifier-state 3\n"

// stateHeaderV2 opens a log of format 2: the same C, A and Q records,
// without groups. Lines whose checksum fails at the end of the log, with
// no good line after them, are taken for a torn tail and dropped; a failing
// line followed by a good one refuses the log. It is read, and rewritten in
// the current format on open.
const stateHeaderV2 = "smki-verifier-state 2\n"

// stateHeaderV1 opens a log of format 1: the records of format 2 without
// the checksum. It is read, and rewritten in the current format on open.
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

// logIDLen is the length of a log's identity (I record), in bytes.
const logIDLen = 16

// load reads the log into memory, cuts a torn tail, converts an older
// format, and rewrites the log from what it read (a compaction), which
// leaves s.f open on a pre-allocated file whose records end at s.size.
// The rewrite drops whatever followed the last whole group: a torn line,
// or the remains of a group whose write did not finish (holes of zeros
// between records), which a later write in place could otherwise join to
// the records again.
func (s *StateFile) load() error {
	data, err := os.ReadFile(s.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	whole := len(data)
	// The records end at the last non-zero byte: the rest is the zeros
	// written ahead. A zero byte before it is a hole (damage, or the
	// group a crash interrupted), which the readers below judge.
	data = bytes.TrimRight(data, "\x00")
	var rerr error
	kind := logOlder
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
		kind = logNew
	case bytes.HasPrefix(data, []byte(stateHeader)):
		kind = logCurrent
		rerr = s.replayFramed(data[len(stateHeader):], len(stateHeader))
	case hasHeader(data, stateHeaderV2):
		rerr = s.replayRecords(data[min(len(data), len(stateHeaderV2)):], len(stateHeaderV2), true)
	case hasHeader(data, stateHeaderV1):
		rerr = s.replayRecords(data[min(len(data), len(stateHeaderV1)):], len(stateHeaderV1), false)
	default:
		// The headerless log of earlier versions: "\n<originator> <counter>"
		// records with the separator first, so its last record has no
		// '\n' and is complete. Rewrite it in the current format.
		rerr = s.loadLegacy(data)
	}
	var dmg *damageError
	if errors.As(rerr, &dmg) {
		dmg.path = s.path
	}
	if dmg != nil && s.opts.Recover {
		if rerr = s.salvage(data, dmg); rerr == nil {
			// Keep the damaged log as it was (the rewrite below replaces
			// the file at path).
			rerr = s.setAside(dmg)
		}
	}
	if rerr != nil {
		return rerr
	}
	// Is it the log this verifier last wrote here, and no older?
	if err := s.checkMark(kind); err != nil {
		if !s.opts.Recover {
			return err
		}
		var rb *rollbackError
		errors.As(err, &rb)
		if s.recovered != "" {
			s.recovered += "; "
		}
		s.recovered += fmt.Sprintf("%v: %s; adopted (recovered)", ErrStateRollback, rb.why)
	}
	if s.logID == ([logIDLen]byte{}) {
		// A new log, or one of an older format: it gets its identity now.
		if _, err := rand.Read(s.logID[:]); err != nil {
			return err
		}
	}
	// Marked before the rewrite (at the log's last whole group, which it
	// has), so that a crash between the two leaves a log its mark accepts,
	// and after it.
	if err := s.writeMark(); err != nil {
		return fmt.Errorf("writing its mark %s: %v", s.path+markSuffix, err)
	}
	if _, err = s.compact(s.snapshotLocked()); err != nil {
		return err
	}
	if err := s.writeMark(); err != nil {
		return fmt.Errorf("writing its mark %s: %v", s.path+markSuffix, err)
	}
	return nil
}

// damageError: the log lost records that had been answered (ErrStateDamaged).
type damageError struct {
	path     string
	from, to int    // the damaged bytes, offsets in the file
	what     string // what is wrong there
}

func (e *damageError) Error() string {
	return fmt.Sprintf("%v: %s: bytes %d to %d of the log are damaged (%s) and records after them are intact, so "+
		"records of requests already accepted may be lost there (a disk fault or an edit: a crash damages only the last, "+
		"unanswered group); the file is left as it is. Keep a copy of it and check the disk, then restart with "+
		"--state-recover (StateFileOptions.Recover), which keeps every intact record (a counter can only rise), sets the "+
		"damaged file aside as %s and starts; a request whose only record was in the damaged bytes could then be "+
		"accepted once more", ErrStateDamaged, e.path, e.from, e.to, e.what, e.path+".damaged")
}

func (e *damageError) Unwrap() error { return ErrStateDamaged }

// replayFramed applies the groups of a log in the current format (body:
// the log after its header, which is off bytes long): every whole group,
// then the intact records of the group after the last whole one (see
// stateHeader). Damage before the last G line is a *damageError.
func (s *StateFile) replayFramed(body []byte, off int) error {
	var (
		pos, groupStart int
		seq             uint64
		pend            []string
		firstBad        = -1
	)
	for pos < len(body) {
		nl := bytes.IndexByte(body[pos:], '\n')
		if nl < 0 {
			break // a torn last line: part of the unanswered group
		}
		line, next := body[pos:pos+nl], pos+nl+1
		fields, ok := checkRecord(string(line))
		if !ok || bytes.IndexByte(line, 0) >= 0 {
			if firstBad < 0 {
				firstBad = pos
			}
			pos = next
			continue
		}
		if !strings.HasPrefix(fields, "G ") {
			pend = append(pend, fields)
			pos = next
			continue
		}
		gseq, sum, err := parseGroupEnd(fields)
		if err != nil {
			return fmt.Errorf("byte %d: %w: %v", off+pos, errStateCorrupt, err)
		}
		switch {
		case seq != 0 && gseq != seq+1:
			return &damageError{from: off + groupStart, to: off + pos,
				what: fmt.Sprintf("group %d follows group %d: the groups between are missing or their ends damaged", gseq, seq)}
		case crc32.Checksum(body[groupStart:pos], castagnoli) != sum:
			from := groupStart
			if firstBad >= 0 {
				from = firstBad
			}
			what := "a record missing or changed"
			if firstBad >= 0 {
				what = "a zero byte or a line that fails its checksum"
			}
			return &damageError{from: off + from, to: off + pos, what: fmt.Sprintf("group %d: %s", gseq, what)}
		case seq == 0 && (len(pend) == 0 || !strings.HasPrefix(pend[0], "I ")):
			return fmt.Errorf("byte %d: %w: the first group does not start with the log's identity", off, errStateCorrupt)
		}
		for _, f := range pend {
			if err := s.replayLine(f); err != nil {
				return fmt.Errorf("group %d: %w: %v", gseq, errStateCorrupt, err)
			}
		}
		pend, seq, groupStart, firstBad = pend[:0], gseq, next, -1
		pos = next
	}
	if seq == 0 {
		return &damageError{from: off, to: off + len(body), what: "no whole group: every rewrite of the log ends with one"}
	}
	// The group being written when the process stopped, never answered:
	// its intact records only raise what they record.
	for _, f := range pend {
		if err := s.replayLine(f); err != nil {
			return fmt.Errorf("after group %d: %w: %v", seq, errStateCorrupt, err)
		}
	}
	s.gseq = seq
	return nil
}

// parseGroupEnd reads the fields of a G record.
func parseGroupEnd(fields string) (seq uint64, sum uint32, err error) {
	f := strings.Split(fields, " ")
	if len(f) != 3 || len(f[2]) != 8 {
		return 0, 0, fmt.Errorf("bad group end %q", fields)
	}
	if seq, err = strconv.ParseUint(f[1], 10, 64); err != nil || seq == 0 {
		return 0, 0, fmt.Errorf("bad group end %q", fields)
	}
	b, err := hex.DecodeString(f[2])
	if err != nil {
		return 0, 0, fmt.Errorf("bad group end %q", fields)
	}
	return seq, binary.BigEndian.Uint32(b), nil
}

// appendGroupEnd ends the group b[start:] with its G record.
func appendGroupEnd(b []byte, start int, seq uint64) []byte {
	sum := crc32.Checksum(b[start:], castagnoli)
	at := len(b)
	b = append(b, "G "...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ' ')
	var be [4]byte
	binary.BigEndian.PutUint32(be[:], sum)
	b = hex.AppendEncode(b, be[:])
	return endRecord(b, at)
}

// salvage (Recover) applies every intact record of a damaged log, wherever
// it lies: none can lower a counter. What the damage destroyed is lost.
func (s *StateFile) salvage(data []byte, dmg *damageError) error {
	// Start again from nothing: the reader stopped part way.
	clear(s.last)
	clear(s.adt)
	s.logID, s.gseq = [logIDLen]byte{}, 0
	body, checked, framed := data, true, false
	switch {
	case bytes.HasPrefix(data, []byte(stateHeader)):
		body, framed = data[len(stateHeader):], true
	case hasHeader(data, stateHeaderV2):
		body = data[min(len(data), len(stateHeaderV2)):]
	case hasHeader(data, stateHeaderV1):
		body, checked = data[min(len(data), len(stateHeaderV1)):], false
	}
	kept, dropped := 0, 0
	for _, l := range bytes.Split(body, []byte{'\n'}) {
		if len(l) == 0 {
			continue
		}
		line, ok := string(l), bytes.IndexByte(l, 0) < 0
		if ok && checked {
			line, ok = checkRecord(line)
		}
		if ok && framed && strings.HasPrefix(line, "G ") {
			if seq, _, err := parseGroupEnd(line); err == nil {
				s.gseq = max(s.gseq, seq)
			}
			continue
		}
		if !ok || s.replayLine(line) != nil {
			dropped++
			continue
		}
		kept++
	}
	s.recovered = fmt.Sprintf("%v (%s); recovered: %d intact records kept, %d damaged lines dropped",
		ErrStateDamaged, dmg.what, kept, dropped)
	return nil
}

// setAside keeps the damaged log as path.damaged (path.damaged.N if that
// is taken), a link to the same file, so that the rewrite replaces only
// the name path.
func (s *StateFile) setAside(dmg *damageError) error {
	name := s.path + ".damaged"
	for i := 1; ; i++ {
		err := os.Link(s.path, name)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > 100 {
			return fmt.Errorf("keeping the damaged log as %s: %v", name, err)
		}
		name = fmt.Sprintf("%s.damaged.%d", s.path, i)
	}
	s.recovered += "; the damaged log is kept as " + name
	return durable.SyncDir(filepath.Dir(s.path))
}

// replayRecords applies the complete lines of records (the log of format
// 1 or 2 after its header, which is off bytes long; a torn header leaves
// none), checking each line's checksum if checked (format 2). A line that
// fails (its checksum, or a zero byte in it) is the torn tail if no good
// line follows it, damage (a *damageError) if one does.
func (s *StateFile) replayRecords(records []byte, off int, checked bool) error {
	end := bytes.LastIndexByte(records, '\n')
	if end < 0 {
		return nil
	}
	firstBad, badAt, pos := -1, 0, 0
	for i, line := range strings.Split(string(records[:end]), "\n") {
		at := pos
		pos += len(line) + 1
		if line == "" {
			continue
		}
		ok := strings.IndexByte(line, 0) < 0
		if ok && checked {
			line, ok = checkRecord(line)
		}
		if !ok {
			if firstBad < 0 {
				firstBad, badAt = i, at
			}
			continue
		}
		if firstBad >= 0 {
			return &damageError{from: off + badAt, to: off + at,
				what: fmt.Sprintf("line %d has a zero byte or fails its checksum, before good records", firstBad+2)}
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
	case fields[0] == "I" && len(fields) == 2:
		var id [logIDLen]byte
		if len(fields[1]) != 2*logIDLen || strings.ToLower(fields[1]) != fields[1] {
			return fmt.Errorf("bad log identity %q", line)
		}
		if _, err := hex.Decode(id[:], []byte(fields[1])); err != nil {
			return fmt.Errorf("bad log identity %q", line)
		}
		if s.logID != ([logIDLen]byte{}) && s.logID != id {
			return fmt.Errorf("a second log identity %q", line)
		}
		s.logID = id
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
