package bolt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// The audit journal: where Store.Audit's records (audited reads) are made
// durable without the bbolt writer. bbolt has one writer, and every
// Update holds it through its fsync, so a read whose record went through
// an Update would wait behind every issuance in the queue. Instead,
// concurrent Audit calls are group-committed to an append-only file
// beside the store (<path>.audit): one write and one fsync per batch,
// never waiting for an Update. Records are numbered, and the state bucket
// records the last number sealed.
//
// The sealer renames the file to <path>.audit.sealing (new records go to
// a fresh <path>.audit), chains the renamed file's records in one Update
// that also records the last number sealed, then removes it. A crash at
// any point leaves a file whose sealed records the next seal skips by
// number. A torn last line (a crash mid-write, never acknowledged) is
// ignored, and cut off at Open.
//
// A line is: 8 hex digits of the CRC-32 of the JSON, a space, the JSON of
// journalRecord, a newline.

var kJournalSealed = []byte("audit_journal_sealed") // state bucket: last journal number sealed

type journalRecord struct {
	N uint64           `json:"n"`
	E store.AuditEntry `json:"e"`
}

type journal struct {
	path string
	mu   sync.Mutex // held across each write and its fsync, and a rotation
	f    *os.File
	next uint64 // number of the next record
	size int64  // bytes of complete, synced records in f
}

func (j *journal) sealingPath() string { return j.path + ".sealing" }

// openJournal opens (creating, mode 0600) the journal at path, cuts off a
// torn tail and continues numbering after the highest record in it, in a
// file left being sealed, or sealed (the state bucket's kJournalSealed).
func openJournal(path string, db *bbolt.DB) (*journal, error) {
	j := &journal{path: path}
	var sealed uint64
	err := db.View(func(btx *bbolt.Tx) (err error) {
		sealed, err = (&tx{btx: btx}).counter(kJournalSealed)
		return err
	})
	if err != nil {
		return nil, err
	}
	j.next = sealed + 1
	if old, err := readJournal(j.sealingPath()); err != nil {
		return nil, err
	} else if len(old) > 0 {
		j.next = max(j.next, old[len(old)-1].N+1)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("bolt: audit journal: %w", err)
	}
	recs, size, err := parseJournal(f)
	if err == nil {
		err = f.Truncate(size)
	}
	if err == nil {
		err = durable.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("bolt: audit journal %s: %w", path, err)
	}
	if len(recs) > 0 {
		j.next = max(j.next, recs[len(recs)-1].N+1)
	}
	j.f, j.size = f, size
	return j, nil
}

// readJournal returns the complete records of the file at path (none if
// it does not exist).
func readJournal(path string) ([]journalRecord, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: audit journal: %w", err)
	}
	defer f.Close()
	recs, _, err := parseJournal(f)
	if err != nil {
		return nil, fmt.Errorf("bolt: audit journal %s: %w", path, err)
	}
	return recs, nil
}

// parseJournal returns f's complete records and the length they span; it
// stops at the first line that is incomplete or fails its CRC (a torn
// write).
func parseJournal(f *os.File) ([]journalRecord, int64, error) {
	var out []journalRecord
	size, err := scanJournal(f, func(rec journalRecord) bool {
		out = append(out, rec)
		return true
	})
	if err != nil {
		return nil, 0, err
	}
	return out, size, nil
}

// scanJournal calls fn with f's complete records in order until fn
// returns false or a line is incomplete or fails its CRC (a torn write);
// it returns the length of the records scanned.
func scanJournal(f *os.File, fn func(journalRecord) bool) (int64, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), 64<<10)
	var size int64
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return size, nil // a partial line without newline is torn
		}
		if err != nil {
			return 0, err
		}
		body := bytes.TrimSuffix(line, []byte("\n"))
		if len(body) < 9 || body[8] != ' ' {
			return size, nil
		}
		sum, err := strconv.ParseUint(string(body[:8]), 16, 32)
		if err != nil || uint32(sum) != crc32.ChecksumIEEE(body[9:]) {
			return size, nil
		}
		var rec journalRecord
		if err := json.Unmarshal(body[9:], &rec); err != nil {
			return size, nil
		}
		size += int64(len(line))
		if !fn(rec) {
			return size, nil
		}
	}
}

// write appends es as numbered records and fsyncs them.
func (j *journal) write(_ context.Context, es []store.AuditEntry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("bolt: audit journal: %w", store.ErrClosed)
	}
	var buf bytes.Buffer
	for i, e := range es {
		data, err := json.Marshal(journalRecord{N: j.next + uint64(i), E: e})
		if err != nil {
			return fmt.Errorf("bolt: audit journal: %w", err)
		}
		fmt.Fprintf(&buf, "%08x %s\n", crc32.ChecksumIEEE(data), data)
	}
	if _, err := j.f.WriteAt(buf.Bytes(), j.size); err != nil {
		return fmt.Errorf("bolt: audit journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("bolt: audit journal: %w", err)
	}
	j.size += int64(buf.Len())
	j.next += uint64(len(es))
	return nil
}

// rotate renames a non-empty journal to the sealing path and puts a
// fresh, empty one in its place; it reports whether it did. The fresh
// file is made first, so a failure leaves the journal as it was.
func (j *journal) rotate() (bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil || j.size == 0 {
		return false, nil
	}
	fresh := j.path + ".new"
	f, err := os.OpenFile(fresh, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
	if err != nil {
		return false, fmt.Errorf("bolt: audit journal: %w", err)
	}
	if err := os.Rename(j.path, j.sealingPath()); err != nil {
		f.Close()
		os.Remove(fresh)
		return false, fmt.Errorf("bolt: audit journal: %w", err)
	}
	if err := os.Rename(fresh, j.path); err != nil {
		f.Close()
		os.Remove(fresh)
		if rerr := os.Rename(j.sealingPath(), j.path); rerr != nil {
			// Writes would go to a file the seal removes: refuse them.
			j.f.Close()
			j.f = nil
			return false, fmt.Errorf("bolt: audit journal: %w (and restoring it: %v)", err, rerr)
		}
		return false, fmt.Errorf("bolt: audit journal: %w", err)
	}
	// The new name must be durable before a record written to it is
	// acknowledged.
	if err := durable.SyncDir(filepath.Dir(j.path)); err != nil {
		f.Close()
		j.f.Close()
		j.f = nil
		return true, fmt.Errorf("bolt: audit journal: %w", err)
	}
	j.f.Close()
	j.f, j.size = f, 0
	return true, nil
}

func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// Audit appends e through the journal's group commit.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	e, err := check.Audit(e)
	if err != nil {
		return fmt.Errorf("bolt: audit: %w", err)
	}
	e.Seq, e.PrevHash, e.Hash = 0, nil, nil
	return s.audits.Add(ctx, e)
}

// SealAudit chains every journal record written before the call.
func (s *Store) SealAudit(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	return s.seal()
}

// seal chains the journal's records: first a file left being sealed
// (by a crash or a failed seal), then the current one, rotated out.
func (s *Store) seal() error {
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	j := s.journal
	if err := s.sealFile(j.sealingPath()); err != nil {
		return err
	}
	rotated, err := j.rotate()
	if err != nil || !rotated {
		return err
	}
	return s.sealFile(j.sealingPath())
}

// sealFile chains the records in the file at path not yet sealed, in one
// Update that records the last number sealed, then removes the file.
func (s *Store) sealFile(path string) error {
	recs, err := readJournal(path)
	if err != nil || recs == nil {
		if err == nil {
			err = removeIfExists(path)
		}
		return err
	}
	err = s.db.Update(func(btx *bbolt.Tx) error {
		t := &tx{btx: btx, writable: true}
		defer t.finish()
		sealed, err := t.counter(kJournalSealed)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.N <= sealed {
				continue
			}
			if _, err := t.AppendAudit(r.E); err != nil {
				return err
			}
			sealed = r.N
		}
		return t.setCounter(kJournalSealed, sealed)
	})
	if err != nil {
		return fmt.Errorf("bolt: seal audit: %w", err)
	}
	return removeIfExists(path)
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("bolt: audit journal: %w", err)
	}
	return nil
}

// AuditBacklog returns how many journal records are durable but not yet
// sealed into the chain, and the time of the oldest (store.AuditSealMonitor).
// The store seals every seal delay, so a backlog that stays means
// sealing fails. It reads the journal files only up to the oldest
// unsealed record.
func (s *Store) AuditBacklog(ctx context.Context) (n int, oldest time.Time, err error) {
	if err := s.begin(ctx); err != nil {
		return 0, time.Time{}, err
	}
	var sealed uint64
	if err := s.db.View(func(btx *bbolt.Tx) (err error) {
		sealed, err = (&tx{btx: btx}).counter(kJournalSealed)
		return err
	}); err != nil {
		return 0, time.Time{}, fmt.Errorf("bolt: audit backlog: %w", err)
	}
	// Read after sealed: records are numbered in order, so next-1 >= sealed.
	s.journal.mu.Lock()
	next := s.journal.next
	s.journal.mu.Unlock()
	if next-1 <= sealed {
		return 0, time.Time{}, nil
	}
	for _, path := range []string{s.journal.sealingPath(), s.journal.path} {
		found, err := firstAfter(path, sealed)
		if err != nil {
			return 0, time.Time{}, err
		}
		if found != nil {
			return int(next - 1 - sealed), found.E.Time, nil
		}
	}
	// Sealed since sealed was read.
	return 0, time.Time{}, nil
}

// firstAfter returns the first record numbered after sealed in the file
// at path (nil: none, or no file).
func firstAfter(path string, sealed uint64) (*journalRecord, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: audit backlog: %w", err)
	}
	defer f.Close()
	var found *journalRecord
	if _, err := scanJournal(f, func(rec journalRecord) bool {
		if rec.N > sealed {
			found = &rec
		}
		return found == nil
	}); err != nil {
		return nil, fmt.Errorf("bolt: audit backlog %s: %w", path, err)
	}
	return found, nil
}

// AuditSealFailures returns how many background seals have failed since
// Open (store.AuditSealMonitor).
func (s *Store) AuditSealFailures() uint64 { return s.sealer.Failures() }
