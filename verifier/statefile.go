package verifier

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/durable"
)

// StateFileOptions tune a StateFile's group commit and compaction. Zero
// values take the defaults.
type StateFileOptions struct {
	// MaxDelay is how long the first staged record of a group waits for
	// others before the group is written and synced. Zero or negative (the
	// default) writes at once: records staged while a sync runs form the
	// next group, which already shares one sync among every concurrent
	// accept without adding a fixed wait to each.
	MaxDelay time.Duration
	// MaxBatch writes the group at once when this many records are staged
	// (default 256).
	MaxBatch int
	// CompactBytes: once the log is larger than this (and than twice its
	// size after the last compaction), it is rewritten as one line per
	// originator and ADT window (default 4 MiB).
	CompactBytes int64
	// PreallocBytes: the log file is kept up to this much longer than its
	// records, in zeros written (and synced) ahead, so that a group's
	// write overwrites allocated blocks and its sync flushes data only,
	// not the file's size and extents (default 1 MiB).
	PreallocBytes int64

	// Recover opens a damaged log (ErrStateDamaged) anyway: every intact
	// record of it is kept (none can lower a counter), the damaged file
	// is kept beside it as path.damaged. It also adopts a log refused
	// ErrStateRollback (older than, or other than, the one last written
	// at path; statemark.go). Recovered says what was done. A request
	// whose only record was lost could then be accepted once more: an
	// operator's decision for one start, never a default (smki verifier
	// serve --state-recover).
	Recover bool

	// buffered (tests): write through the page cache and fdatasync, as
	// where the file system has no direct I/O.
	buffered bool
	// markAlways (tests): write the mark after every group, not at most
	// every markEvery.
	markAlways bool
}

func (o StateFileOptions) withDefaults() StateFileOptions {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.CompactBytes <= 0 {
		o.CompactBytes = 4 << 20
	}
	if o.PreallocBytes <= 0 {
		o.PreallocBytes = 1 << 20
	}
	return o
}

// StateStats count a StateFile's work since it was opened.
type StateStats struct {
	Records     uint64        // records made durable
	Syncs       uint64        // fsyncs of the log (one per group)
	Compactions uint64        // rewrites of the log to its live state
	SyncTime    time.Duration // spent writing and syncing groups (SyncTime/Syncs: the sync latency)
}

// StateFile is the sidecar's durable state: a Journal (and so a
// ReplayStore) kept in an append-only log of text records (format in
// statefile_load.go), replayed on open.
//
// Durability (group commit): Stage records in memory under a short lock
// and appends the record to the open group's buffer; one flusher goroutine
// writes a whole group and fdatasyncs it once, then closes the group's
// channel, which releases every Wait of the group at once. Every record
// staged while a sync runs joins the next group, so the more requests wait,
// the more one sync serves. Accept, and Wait for a staged record, return
// only after the record's group has been written and synced. Before
// taking a group the flusher yields once, so that goroutines ready to run
// stage into it first (see run). With MaxDelay, the first record of a
// group also waits that long for others (or until MaxBatch are staged). A failed write or fsync is sticky: every
// later Wait fails (the file's state is then unknown, and the Verifier
// fails closed) until the process reopens the file.
//
// The log is pre-allocated: the file is longer than its records, in zeros
// written and synced ahead (PreallocBytes), and a group is written in
// place at the end of the records, so that its sync does not also have to
// commit a new file size. The records end at the last non-zero byte; each
// group ends with a G record (statefile_load.go), so that on open a group
// a crash interrupted is told from damage to groups already answered.
//
// On Linux a group is one direct, synchronous write (O_DIRECT|O_DSYNC) of
// the logBlock-aligned blocks it touches: the last, partial block of the
// records before it (kept in memory) followed by the group's records and
// zeros to the block's end. Bypassing the page cache makes the write one
// request to the disk and a cache flush, instead of a page-cache copy,
// writeback and a separate fdatasync, and it does not wait behind other
// files' writeback. Where the file system refuses direct I/O the group is
// written through the page cache and fdatasynced.
//
// Compaction rewrites the log atomically (temporary file, fsync, rename,
// fsync of the directory), so a crash at any point leaves either the old
// log or the new one. Opening a log always compacts it, so that nothing
// after its last record (a torn write) survives into the reopened log.
type StateFile struct {
	ledgerSlot // its one Ledger (NewLedger)

	path string
	opts StateFileOptions

	mu      sync.Mutex
	last    map[eui64.ID]uint64
	adt     map[adtKey]*adtLog
	buf     []byte // staged records not yet handed to the flusher
	spare   []byte
	pending int
	staged  Ticket
	durable Ticket
	open    *group // the group being staged (tickets after syncTo)
	syncing *group // the group being written, nil between writes
	syncTo  Ticket // the last ticket of syncing
	err     error  // sticky write or fsync failure
	closed  bool
	stats   StateStats

	kick chan struct{} // a record was staged
	full chan struct{} // MaxBatch records are staged
	stop chan struct{}
	done chan struct{}

	// lock holds the file's lock (lockStateFile) from open to Close.
	lock *os.File

	// logID is the log's identity (its I record), kept across rewrites.
	logID [logIDLen]byte
	// recovered says what Recover did on open; "" if nothing.
	recovered string

	// Owned by the flusher goroutine (and open/Close around it).
	f             *os.File
	size          int64 // the records' end: where the next group is written
	alloc         int64 // the file's length, zeros from size on
	compactedSize int64
	gseq          uint64      // the sequence of the last group written (its G record)
	markAt        time.Time   // when the mark was last written (statemark.go)
	zeros         []byte      // PreallocBytes of zeros, for extending the file
	df            *os.File    // f's file opened for direct writes; nil: write through f and fdatasync
	direct        atomic.Bool // df != nil, for DirectIO
	tail          []byte      // with df: the records from the last logBlock boundary to size
	wbuf          []byte      // with df: the aligned buffer a group is written from
}

// logBlock is the unit of a direct write: offset, length and memory are
// aligned to it. 4 KiB is a multiple of every disk's logical block and
// the physical block of current ones, so a write never shares a physical
// block with another write in flight.
const logBlock = 4096

// alignedBlocks returns n bytes (n a multiple of logBlock) whose first
// byte is logBlock-aligned in memory, as direct I/O needs.
func alignedBlocks(n int) []byte {
	b := make([]byte, n+logBlock)
	off := (logBlock - int(uintptr(unsafe.Pointer(&b[0]))%logBlock)) % logBlock
	return b[off : off+n : off+n]
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// DirectIO reports whether groups are written with direct I/O (false: the
// page cache and fdatasync).
func (s *StateFile) DirectIO() bool { return s.direct.Load() }

// group is one group commit: done is closed once its records are durable
// (err nil) or cannot be (err set).
type group struct {
	done chan struct{}
	err  error
}

func newGroup() *group { return &group{done: make(chan struct{})} }

// adtLog is the store's copy of one ADT window.
type adtLog struct {
	at     []int64 // unix nanoseconds
	period time.Duration
	until  int64 // quarantine end, unix nanoseconds; 0 if none
}

// OpenFileReplayStore opens the state file at path with default options.
func OpenFileReplayStore(path string) (*StateFile, error) {
	return OpenStateFile(path, StateFileOptions{})
}

// OpenStateFile opens (creating if needed) the state log at path and
// replays it. What follows the last whole group (a crash mid-write) is
// cut off; damage before it is ErrStateDamaged (opts.Recover opens it
// anyway) and a corrupt complete line ErrReplayStore, because skipping
// either could lower a counter. A log in the older headerless format is read and
// rewritten in the current one. The file is locked until Close (an
// exclusive flock on path+".lock", where the system has flock): a second
// OpenStateFile of path, in this process or another, is refused
// (ErrReplayStore) while the first is open.
func OpenStateFile(path string, opts StateFileOptions) (*StateFile, error) {
	// The log is rewritten by renaming a new file over it: over the file a
	// link points to, never over the link.
	path, err := resolveLinks(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReplayStore, err)
	}
	s := &StateFile{
		path: path, opts: opts.withDefaults(),
		last: map[eui64.ID]uint64{}, adt: map[adtKey]*adtLog{},
		kick: make(chan struct{}, 1), full: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
		open: newGroup(),
	}
	lock, err := lockStateFile(s.path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrReplayStore, path, err)
	}
	s.lock = lock
	if err := s.load(); err != nil {
		s.unlock()
		if errors.Is(err, ErrStateDamaged) || errors.Is(err, ErrStateRollback) {
			return nil, err // coded, with the path and what to do
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrReplayStore, path, err)
	}
	go s.run()
	return s, nil
}

// resolveLinks follows path while it is a symbolic link (one whose
// target does not exist yet included, unlike filepath.EvalSymlinks) and
// returns the path of what it names.
func resolveLinks(path string) (string, error) {
	for range 40 {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return path, nil
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}

// Last implements ReplayStore.
func (s *StateFile) Last(o eui64.ID) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.last[o]
	return c, ok
}

// Accept implements ReplayStore: it stages the counter and waits until it
// is durable.
func (s *StateFile) Accept(o eui64.ID, c uint64) error {
	t, err := s.Stage(o, c, nil)
	if err != nil {
		return err
	}
	return s.Wait(t)
}

// Stage implements Journal.
func (s *StateFile) Stage(o eui64.ID, c uint64, adt *ADTRecord) (Ticket, error) {
	s.mu.Lock()
	if err := s.usableLocked(); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	s.buf = appendCounter(s.buf, o, c)
	s.applyCounter(o, c)
	n := 1
	if adt != nil {
		at := adt.At.UnixNano()
		s.buf = appendADT(s.buf, adt.User, adt.SRV, at, adt.Period)
		s.applyADT(adtKey{adt.User, adt.SRV}, at, adt.Period)
		n++
	}
	t := s.stageLocked(n)
	s.mu.Unlock()
	return t, nil
}

// StageQuarantine implements Journal.
func (s *StateFile) StageQuarantine(user eui64.ID, srv string, until time.Time) (Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked(); err != nil {
		return 0, err
	}
	u := until.UnixNano()
	s.buf = appendQuarantine(s.buf, user, srv, u)
	s.applyQuarantine(adtKey{user, srv}, u)
	return s.stageLocked(1), nil
}

// Wait implements Journal. It blocks on t's group, not on the store's
// lock, so a finished sync wakes all its waiters without their contending
// for the lock again.
func (s *StateFile) Wait(t Ticket) error {
	s.mu.Lock()
	if t <= s.durable {
		s.mu.Unlock()
		return nil
	}
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return err
	}
	g := s.open
	if s.syncing != nil && t <= s.syncTo {
		g = s.syncing
	}
	s.mu.Unlock()
	<-g.done
	return g.err
}

// ADTState implements Journal.
func (s *StateFile) ADTState() []ADTState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ADTState, 0, len(s.adt))
	for k, l := range s.adt {
		st := ADTState{User: k.user, SRV: k.srv}
		for _, at := range l.at {
			st.Accepted = append(st.Accepted, time.Unix(0, at).UTC())
		}
		if l.until != 0 {
			st.QuarantinedUntil = time.Unix(0, l.until).UTC()
		}
		out = append(out, st)
	}
	return out
}

// Recovered says what StateFileOptions.Recover did when the log was
// opened: what was damaged, how many records were kept and where the
// damaged log was kept. "" when the log was not damaged.
func (s *StateFile) Recovered() string { return s.recovered }

// Stats returns the work done since open.
func (s *StateFile) Stats() StateStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Close makes what is staged durable, stops the flusher and closes the
// file. Waits that were pending return their result first.
func (s *StateFile) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	defer s.unlock()
	if s.f == nil {
		return err
	}
	// The mark at the last durable group, so that a copy of the log
	// older than now is refused at the next open.
	if merr := s.writeMark(); err == nil && merr != nil {
		err = fmt.Errorf("%w: %s: %v", ErrReplayStore, s.path+markSuffix, merr)
	}
	if s.df != nil {
		s.df.Close()
	}
	if cerr := s.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%w: %v", ErrReplayStore, cerr)
	}
	return err
}

// unlock releases the file's lock, after its last write.
func (s *StateFile) unlock() {
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

func (s *StateFile) usableLocked() error {
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return fmt.Errorf("%w: %s is closed", ErrReplayStore, s.path)
	}
	return nil
}

// stageLocked counts n staged records, wakes the flusher and returns the
// ticket of the last one.
func (s *StateFile) stageLocked(n int) Ticket {
	s.staged++
	s.pending += n
	select {
	case s.kick <- struct{}{}:
	default:
	}
	if s.pending >= s.opts.MaxBatch {
		select {
		case s.full <- struct{}{}:
		default:
		}
	}
	return s.staged
}

func (s *StateFile) applyCounter(o eui64.ID, c uint64) {
	if last, ok := s.last[o]; !ok || c > last {
		s.last[o] = c
	}
}

func (s *StateFile) applyADT(k adtKey, at int64, period time.Duration) {
	l := s.adt[k]
	if l == nil {
		l = &adtLog{}
		s.adt[k] = l
	}
	l.at = append(l.at, at)
	l.period = max(l.period, period)
}

func (s *StateFile) applyQuarantine(k adtKey, until int64) {
	l := s.adt[k]
	if l == nil {
		l = &adtLog{}
		s.adt[k] = l
	}
	l.until = max(l.until, until)
}

// run is the flusher: it waits for a staged record, yields its P once,
// waits for MaxDelay or MaxBatch, then makes the group durable.
//
// The yield (runtime.Gosched) lets every goroutine that is ready to run
// run before the group is taken, so that what they stage joins it. Without
// it the first record's kick makes the flusher run next, it takes a group
// of that one record and blocks in the write, and the goroutines readied
// on its P (the waiters of the group just released, the other requests)
// wait behind the write until the runtime's monitor hands the P to another
// thread (an OS thread wakeup, and another when the write returns and
// finds its P gone). With the yield, at low load nothing else is runnable
// and the group is taken at once; under load the group grows with the
// work ready to run, which is the CPU-bound case, where one sync then
// serves more accepts and the CPU per accept falls. The yield puts the
// flusher on the scheduler's global queue, which every P serves at least
// every 61 scheduling rounds, and at once when it has nothing else to run.
func (s *StateFile) run() {
	defer close(s.done)
	var timer *time.Timer
	for {
		select {
		case <-s.kick:
		case <-s.stop:
			s.flush()
			return
		}
		runtime.Gosched() // let what is ready to run stage first
		if s.opts.MaxDelay > 0 {
			if timer == nil {
				timer = time.NewTimer(s.opts.MaxDelay)
			} else {
				timer.Reset(s.opts.MaxDelay)
			}
			select {
			case <-timer.C:
			case <-s.full:
				timer.Stop()
			case <-s.stop:
				timer.Stop()
			}
		}
		s.flush()
	}
}

// flush writes and fsyncs everything staged (or, past the size bound,
// compacts instead), then releases the waiters.
func (s *StateFile) flush() {
	s.mu.Lock()
	if len(s.buf) == 0 || s.err != nil {
		s.mu.Unlock()
		return
	}
	buf, t, n := s.buf, s.staged, s.pending
	s.buf, s.pending = s.spare[:0], 0
	g := s.open
	s.syncing, s.syncTo, s.open = g, t, newGroup()
	// Drain a stale "full" signal: this group takes those records.
	select {
	case <-s.full:
	default:
	}
	var snap []byte
	if grown := s.size + int64(len(buf)); grown > s.opts.CompactBytes && grown > 2*s.compactedSize {
		// The snapshot includes buf's effects: they were applied at Stage.
		snap = s.snapshotLocked()
	}
	s.mu.Unlock()
	// The group's end (gseq is the flusher's). Unused if the snapshot
	// replaces the log.
	buf = appendGroupEnd(buf, 0, s.gseq+1)

	t0 := time.Now()
	err, compacted := s.write(buf, snap)
	took := time.Since(t0)

	s.mu.Lock()
	if err != nil {
		// Sticky: this group and the one staged meanwhile fail, and so
		// does every later Stage and Wait.
		s.err = fmt.Errorf("%w: %s: %v", ErrReplayStore, s.path, err)
		g.err, s.open.err = s.err, s.err
		close(s.open.done)
	} else {
		s.durable = t
		s.stats.Records += uint64(n)
		s.stats.Syncs++
		s.stats.SyncTime += took
		if compacted {
			s.stats.Compactions++
		}
	}
	s.syncing = nil
	s.spare = buf[:0]
	close(g.done)
	s.mu.Unlock()
	// The mark follows the log, at most markEvery behind, after the
	// group's waiters are released. A failure only lets it lag (the next
	// group tries again); the log is what makes accepts durable.
	if err == nil && (s.opts.markAlways || time.Since(s.markAt) >= markEvery) {
		s.writeMark()
	}
}

// write appends buf and fsyncs, or, given a snapshot, replaces the log
// with it. A compaction that fails before its rename leaves the old log
// intact, so buf is appended to it instead.
func (s *StateFile) write(buf, snap []byte) (err error, compacted bool) {
	if snap != nil {
		renamed, cerr := s.compact(snap)
		if cerr == nil || renamed {
			return cerr, true
		}
		// Retry compaction only after the log has grown as much again.
		s.compactedSize = s.size
	}
	if end := s.size + int64(len(buf)); end > s.alloc {
		// Past the zeros written ahead: write more (synced with buf, or
		// by the direct writes themselves).
		f := s.f
		if s.df != nil {
			f = s.df
		}
		n, err := s.extend(f, s.alloc, end)
		if err != nil {
			return err, false
		}
		s.alloc = n
	}
	if s.df != nil {
		err := s.writeDirect(buf)
		if err == nil {
			s.gseq++
		}
		return err, false
	}
	if _, err := s.f.WriteAt(buf, s.size); err != nil {
		return err, false
	}
	if err := datasync(s.f); err != nil {
		return err, false
	}
	s.size += int64(len(buf))
	s.gseq++
	return nil, false
}

// writeDirect writes buf after the records with one direct, synchronous
// write: the blocks from the last block boundary before size (its
// records, from s.tail) to the end of buf, padded with zeros to a whole
// block (the file holds zeros there already).
func (s *StateFile) writeDirect(buf []byte) error {
	n := len(s.tail) + len(buf)
	w := int(roundUp(int64(n), logBlock))
	if len(s.wbuf) < w {
		s.wbuf = alignedBlocks(int(roundUp(int64(w)*2, logBlock)))
	}
	b := s.wbuf[:w]
	copy(b, s.tail)
	copy(b[len(s.tail):], buf)
	clear(b[n:])
	if _, err := s.df.WriteAt(b, s.size-int64(len(s.tail))); err != nil {
		return err
	}
	s.size += int64(len(buf))
	s.tail = append(s.tail[:0], b[n-n%logBlock:n]...)
	return nil
}

// extend writes zeros into f from its length from up to at least need
// plus PreallocBytes (rounded up to a whole block), and returns the new
// length. The caller syncs, unless f is the direct file.
func (s *StateFile) extend(f *os.File, from, need int64) (int64, error) {
	if s.zeros == nil {
		s.zeros = alignedBlocks(int(roundUp(s.opts.PreallocBytes, logBlock)))
	}
	to := roundUp(need+s.opts.PreallocBytes, logBlock)
	for off := from; off < to; {
		n, err := f.WriteAt(s.zeros[:min(int64(len(s.zeros)), to-off)], off)
		if err != nil {
			return from, err
		}
		off += int64(n)
	}
	return to, nil
}

// compact writes snap to a temporary file beside the log, fsyncs it,
// renames it over the log and fsyncs the directory. On an error before the
// rename the old log stays in use (renamed is false); after it, the new
// one is in use, and an error (the directory fsync) must be sticky.
func (s *StateFile) compact(snap []byte) (renamed bool, err error) {
	// One group, numbered on from the log it replaces.
	snap = appendGroupEnd(snap, len(stateHeader), s.gseq+1)
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return false, err
	}
	fail := func(err error) (bool, error) {
		f.Close()
		os.Remove(tmp)
		return false, err
	}
	if _, err := f.Write(snap); err != nil {
		return fail(err)
	}
	alloc, err := s.extend(f, int64(len(snap)), int64(len(snap)))
	if err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	var df *os.File
	if !s.opts.buffered {
		// Without direct I/O (an error), groups go through f.
		df, _ = openDirect(tmp)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		if df != nil {
			df.Close()
		}
		return fail(err)
	}
	if s.f != nil {
		s.f.Close()
	}
	if s.df != nil {
		s.df.Close()
	}
	s.f, s.df, s.size, s.alloc, s.compactedSize = f, df, int64(len(snap)), alloc, int64(len(snap))
	s.gseq++
	s.direct.Store(df != nil)
	s.tail = append(s.tail[:0], snap[len(snap)-len(snap)%logBlock:]...)
	return true, durable.SyncDir(filepath.Dir(s.path))
}

// snapshotLocked renders the live state: one counter line per originator,
// the ADT times a window can still count (within two periods of the
// newest, which tolerates requests arriving out of order, and at least a
// period and the clock skew, which a clock stepping back can still count:
// adtWindow.count), and one quarantine line per window. It prunes the in-memory copy the same way.
func (s *StateFile) snapshotLocked() []byte {
	out := append([]byte(nil), stateHeader...)
	start := len(out)
	out = append(out, "I "...)
	out = hex.AppendEncode(out, s.logID[:])
	out = endRecord(out, start)
	ids := make([]eui64.ID, 0, len(s.last))
	for id := range s.last {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b eui64.ID) int { return slices.Compare(a[:], b[:]) })
	for _, id := range ids {
		out = appendCounter(out, id, s.last[id])
	}
	for k, l := range s.adt {
		if len(l.at) > 0 {
			newest := slices.Max(l.at)
			horizon := newest - max(2*int64(l.period), int64(l.period+clockSkew))
			l.at = slices.DeleteFunc(l.at, func(at int64) bool { return at <= horizon })
		}
		for _, at := range l.at {
			out = appendADT(out, k.user, k.srv, at, l.period)
		}
		if l.until != 0 {
			out = appendQuarantine(out, k.user, k.srv, l.until)
		}
	}
	return out
}

func appendID(b []byte, id eui64.ID) []byte { return hex.AppendEncode(b, id[:]) }

func appendCounter(b []byte, o eui64.ID, c uint64) []byte {
	start := len(b)
	b = append(b, "C "...)
	b = appendID(b, o)
	b = append(b, ' ')
	b = strconv.AppendUint(b, c, 10)
	return endRecord(b, start)
}

func appendADT(b []byte, user eui64.ID, srv string, at int64, period time.Duration) []byte {
	start := len(b)
	b = append(b, "A "...)
	b = appendID(b, user)
	b = append(b, ' ')
	b = append(b, srv...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, at, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(period), 10)
	return endRecord(b, start)
}

func appendQuarantine(b []byte, user eui64.ID, srv string, until int64) []byte {
	start := len(b)
	b = append(b, "Q "...)
	b = appendID(b, user)
	b = append(b, ' ')
	b = append(b, srv...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, until, 10)
	return endRecord(b, start)
}
