package bolt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/groupcommit"
	"github.com/smki/smki/store/internal/priority"
	"github.com/smki/smki/store/internal/sealer"
)

// Engine errors, in addition to store's.
var (
	// ErrLocked: another process holds the store file.
	ErrLocked = errors.New("E_STORE_LOCKED")
	// ErrPermission: the operating system refused to open the store file
	// for reading and writing (its mode, its owner or its directory's).
	ErrPermission = errors.New("E_STORE_PERMISSION")
)

// OpenError is an error from opening the bbolt file at path, with the
// store code that says which kind it is: a read-only file system is
// store.ErrReadOnly, a refused permission ErrPermission; other errors keep
// only the context.
func OpenError(path string, err error) error {
	switch {
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("bolt: open %s: %w: read-only file system", path, store.ErrReadOnly)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("bolt: open %s: %w: %v", path, ErrPermission, errors.Unwrap(err))
	}
	return fmt.Errorf("bolt: open %s: %w", path, err)
}

// DefaultLockTimeout is how long Open waits for another process to release
// the file lock before failing with ErrLocked.
const DefaultLockTimeout = time.Second

// DefaultBatchDelay is 0: group commit without a window. Updates that
// arrive while a commit is running share the next transaction and fsync
// (store.Grouper), so a lone Update commits at once and concurrent ones
// share commits. A window (WithBatchDelay) made a lone issuer wait for it
// (a 2 ms window tripled its latency) and is only worth it on storage
// with slow fsync.
const DefaultBatchDelay = 0

// DefaultSealDelay is how often the Store seals its audit journal into
// the hash chain (journal.go).
const DefaultSealDelay = 100 * time.Millisecond

type config struct {
	lockTimeout time.Duration
	batchDelay  time.Duration
	sealDelay   time.Duration
	noGroup     bool
	moveBatch   int // moveCompletedIntents' transaction size (tests shorten it)
	log         *slog.Logger
}

// Option configures Open.
type Option func(*config)

// WithLockTimeout sets how long Open waits for the file lock (> 0).
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) { c.lockTimeout = d }
}

// WithBatchDelay sets a group-commit window: concurrent Updates that
// arrive within d of each other share one bbolt transaction and one
// fsync, and each still returns only after that commit is durable. A lone
// Update waits up to d, so d trades single-writer latency for throughput
// under concurrency. 0 (the default) is group commit without a window.
func WithBatchDelay(d time.Duration) Option {
	return func(c *config) { c.batchDelay = d }
}

// WithoutGroupCommit makes every Update commit alone, with its own fsync.
func WithoutGroupCommit() Option {
	return func(c *config) { c.noGroup = true }
}

// WithSealDelay sets how often the audit journal is sealed (> 0).
func WithSealDelay(d time.Duration) Option {
	return func(c *config) { c.sealDelay = d }
}

// WithLogger sets where a failing background seal of the audit journal
// is logged (store/internal/sealer; without it, failures are only
// counted: AuditSealFailures).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.log = l }
}

// Store is a store.Store over one bbolt file. It is safe for concurrent
// use: Updates run one at a time, Views concurrently with each other and
// with an Update.
type Store struct {
	db     *bbolt.DB
	batch  bool           // bbolt's windowed Batch (WithBatchDelay)
	group  *store.Grouper // group commit without a window (default)
	closed atomic.Bool

	gate    priority.Gate // Urgent before Update
	journal *journal      // Store.Audit's records until sealed
	audits  *groupcommit.Batcher[store.AuditEntry]
	sealMu  sync.Mutex
	sealer  *sealer.Loop
}

var (
	_ store.Store            = (*Store)(nil)
	_ store.AuditSealMonitor = (*Store)(nil)
)

// The freelist is not written at each commit (NoFreelistSync): every
// commit of a growing file would otherwise write and fsync its list of
// free pages too, one more page or more per issuance batch. bbolt
// rebuilds the list by scanning the file at Open, which costs a read of
// the tree, and a file written this way opens in any bbolt (one that
// syncs its freelist writes it at its first commit). The hashmap freelist
// allocates in constant time where the array one scans.
//
// initialMmapSize is the address space bbolt maps the file into at open
// (only what the file uses is paged in). A commit that grows the file past
// the mapping remaps it, which copies every node the transaction touched
// out of the old mapping and waits for every reader: a 100,000-certificate
// revocation did so several times. 1 GiB covers millions of certificates;
// a larger file is remapped as before.
const initialMmapSize = 1 << 30

// Open opens or creates the store file at path (mode 0600) and its
// buckets. It fails with ErrLocked if another process has the file open
// for longer than the lock timeout. The audit journal beside it
// (<path>.audit) is sealed into the chain before Open returns.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := config{lockTimeout: DefaultLockTimeout, batchDelay: DefaultBatchDelay, sealDelay: DefaultSealDelay, moveBatch: intentMoveBatch}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.lockTimeout <= 0 {
		return nil, fmt.Errorf("bolt: open %s: lock timeout %v must be positive: %w", path, cfg.lockTimeout, store.ErrInvalid)
	}
	if cfg.sealDelay <= 0 {
		return nil, fmt.Errorf("bolt: open %s: seal delay %v must be positive: %w", path, cfg.sealDelay, store.ErrInvalid)
	}
	if cfg.batchDelay < 0 {
		return nil, fmt.Errorf("bolt: open %s: batch delay %v is negative: %w", path, cfg.batchDelay, store.ErrInvalid)
	}
	if err := checkWhole(path); err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: cfg.lockTimeout, InitialMmapSize: initialMmapSize,
		NoFreelistSync: true, FreelistType: bbolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("bolt: open %s: file is in use by another process (waited %v): %w", path, cfg.lockTimeout, ErrLocked)
	}
	if err != nil {
		return nil, OpenError(path, err)
	}
	if err := db.Update(func(btx *bbolt.Tx) error {
		if err := checkLayout(btx); err != nil {
			return err
		}
		if err := createBuckets(btx); err != nil {
			return err
		}
		if err := narrowIndexes(btx); err != nil {
			return err
		}
		if err := backfillIssued(btx); err != nil {
			return err
		}
		return recordLayout(btx)
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	if err := moveCompletedIntents(db, cfg.moveBatch); err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	db.MaxBatchDelay = cfg.batchDelay
	j, err := openJournal(path+".audit", db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	s := &Store{db: db, batch: cfg.batchDelay > 0, journal: j}
	if !s.batch && !cfg.noGroup {
		s.group = store.NewGrouper(s.updateAlone)
	}
	s.audits = groupcommit.New(j.write)
	if err := s.seal(); err != nil {
		j.close()
		db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	s.sealer = sealer.Start(cfg.sealDelay, s.seal, cfg.log, "bbolt")
	return s, nil
}

// Update runs fn in one read-write transaction, committed (and fsynced)
// only if fn returns nil; it returns after the commit is durable. With
// group commit (the default, or WithBatchDelay) concurrent Updates share a
// bbolt transaction, applied one after another; if one fails, the batch is
// retried without it and the failing fn is run again alone, so fn may run
// more than once, as store.Store allows. ctx is checked before the
// transaction starts; bbolt cannot interrupt one that is running. While
// an Urgent transaction is pending, Update waits before starting.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.gate.Wait(ctx); err != nil {
		return fmt.Errorf("bolt: transaction not started: %w", err)
	}
	switch {
	case s.batch:
		return s.db.Batch(func(btx *bbolt.Tx) error { return runTx(btx, fn) })
	case s.group != nil:
		return s.group.Update(ctx, fn)
	}
	return s.updateAlone(ctx, fn)
}

// UpdateAlone is Update without this Store's group commit
// (store.AloneUpdater): fn runs in a bbolt read-write transaction of its
// own, at once (after any pending Urgent one), committed and fsynced
// before it returns. The CA groups its issuance writes itself and runs
// one transaction at a time; through Update each of them also went
// through this Store's grouper, a second queue and yield on the path of
// every commit with nothing to group them with.
func (s *Store) UpdateAlone(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.gate.Wait(ctx); err != nil {
		return fmt.Errorf("bolt: transaction not started: %w", err)
	}
	return s.updateAlone(ctx, fn)
}

// updateAlone is one bbolt read-write transaction running fn.
func (s *Store) updateAlone(_ context.Context, fn func(store.Tx) error) error {
	return s.db.Update(func(btx *bbolt.Tx) error { return runTx(btx, fn) })
}

// runTx runs fn on a writable Tx over btx that is unusable afterwards.
func runTx(btx *bbolt.Tx, fn func(store.Tx) error) error {
	t := &tx{btx: btx, writable: true}
	defer t.finish()
	return fn(t)
}

// Urgent is Update with priority: Updates not yet started wait until it
// is done, so it waits at most for the transactions already running (bbolt
// has one writer; nothing can make it fail or retry). It never joins a
// group commit.
func (s *Store) Urgent(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	done := s.gate.Urgent()
	defer done()
	return s.updateAlone(ctx, fn)
}

// View runs fn in a read-only transaction; its writes fail with
// store.ErrReadOnly.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	return s.db.View(func(btx *bbolt.Tx) error {
		t := &tx{btx: btx}
		defer t.finish()
		return fn(t)
	})
}

func (s *Store) begin(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("bolt: %w", store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt: transaction not started: %w", err)
	}
	return nil
}

// Close stops the sealer, seals the journal, waits for running
// transactions and closes the files. Later calls, including Close, fail
// with store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("bolt: close: %w", store.ErrClosed)
	}
	s.sealer.Stop()
	serr := s.seal() // what is left is sealed at the next Open
	if err := s.journal.close(); err != nil && serr == nil {
		serr = err
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("bolt: close: sealing the audit journal: %w", serr)
	}
	return nil
}

// Path returns the store file's path.
func (s *Store) Path() string { return s.db.Path() }
