package bolt

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/smki/smki/store"
)

// Engine errors, in addition to store's.
var (
	// ErrLocked: another process holds the store file.
	ErrLocked = errors.New("E_STORE_LOCKED")
)

// DefaultLockTimeout is how long Open waits for another process to release
// the file lock before failing with ErrLocked.
const DefaultLockTimeout = time.Second

// DefaultBatchDelay is 0: group commit is off unless asked for. Measured
// on an SSD whose fsync takes about a millisecond (ca's
// BenchmarkDurableIssue), a 2 ms window raised 16 concurrent issuers from
// 700 to 895 issuances/s but tripled a lone issuer's latency; on storage
// with slow fsync the window pays for itself (see WithBatchDelay).
const DefaultBatchDelay = 0

type config struct {
	lockTimeout time.Duration
	batchDelay  time.Duration
}

// Option configures Open.
type Option func(*config)

// WithLockTimeout sets how long Open waits for the file lock (> 0).
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) { c.lockTimeout = d }
}

// WithBatchDelay sets the group-commit window: concurrent Updates that
// arrive within d of each other share one bbolt transaction and one
// fsync, and each still returns only after that commit is durable. 0
// turns group commit off (every Update commits alone). A lone Update
// waits up to d, so d trades single-writer latency for throughput under
// concurrency.
func WithBatchDelay(d time.Duration) Option {
	return func(c *config) { c.batchDelay = d }
}

// Store is a store.Store over one bbolt file. It is safe for concurrent
// use: Updates run one at a time, Views concurrently with each other and
// with an Update.
type Store struct {
	db     *bbolt.DB
	batch  bool
	closed atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the store file at path (mode 0600) and its
// buckets. It fails with ErrLocked if another process has the file open
// for longer than the lock timeout.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := config{lockTimeout: DefaultLockTimeout, batchDelay: DefaultBatchDelay}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.lockTimeout <= 0 {
		return nil, fmt.Errorf("bolt: open %s: lock timeout %v must be positive: %w", path, cfg.lockTimeout, store.ErrInvalid)
	}
	if cfg.batchDelay < 0 {
		return nil, fmt.Errorf("bolt: open %s: batch delay %v is negative: %w", path, cfg.batchDelay, store.ErrInvalid)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: cfg.lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("bolt: open %s: file is in use by another process (waited %v): %w", path, cfg.lockTimeout, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	if err := db.Update(func(btx *bbolt.Tx) error {
		if err := createBuckets(btx); err != nil {
			return err
		}
		return backfillIssued(btx)
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: open %s: create buckets: %w", path, err)
	}
	db.MaxBatchDelay = cfg.batchDelay
	return &Store{db: db, batch: cfg.batchDelay > 0}, nil
}

// Update runs fn in one read-write transaction, committed (and fsynced)
// only if fn returns nil; it returns after the commit is durable. With
// group commit (WithBatchDelay) concurrent Updates share a bbolt
// transaction, applied one after another; if one fails, the batch is
// retried without it and the failing fn is run again alone, so fn may run
// more than once, as store.Store allows. ctx is checked before the
// transaction starts; bbolt cannot interrupt one that is running.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	run := func(btx *bbolt.Tx) error {
		t := &tx{btx: btx, writable: true}
		defer t.finish()
		return fn(t)
	}
	if s.batch {
		return s.db.Batch(run)
	}
	return s.db.Update(run)
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

// Close waits for running transactions and closes the file. Later calls,
// including Close, fail with store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("bolt: close: %w", store.ErrClosed)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close: %w", err)
	}
	return nil
}

// Path returns the store file's path.
func (s *Store) Path() string { return s.db.Path() }
