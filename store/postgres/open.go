package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/smki/smki/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLockKey is the advisory lock Open holds while migrating, so two
// instances starting together apply each migration once. It is
// database-wide; migrations are short.
const migrateLockKey int64 = 0x736d6b692d6d6967 // "smki-mig"

// DefaultMaxRetries is how many times Update reruns fn after a
// serialisation failure before giving up with store.ErrConflict.
const DefaultMaxRetries = 30

type config struct {
	maxRetries  int
	pool        func(*pgxpool.Config)
	revokeBatch int // 0: revokeBatch; tests set it small (export_test.go)
}

// Option configures Open.
type Option func(*config)

// WithMaxRetries sets how often Update retries a serialisation failure (>= 0).
func WithMaxRetries(n int) Option { return func(c *config) { c.maxRetries = n } }

// WithPoolConfig lets the caller adjust the pgxpool configuration (pool
// size, AfterConnect, TLS) before connecting.
func WithPoolConfig(f func(*pgxpool.Config)) Option { return func(c *config) { c.pool = f } }

// Store is a store.Store over a PostgreSQL database. It is safe for
// concurrent use, and several Stores (processes) may share one database.
type Store struct {
	pool        *pgxpool.Pool
	maxRetries  int
	revokeBatch int
	closed      atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open connects to url (a pgx connection string; a search_path parameter
// selects the schema) and applies any pending migrations.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg := config{maxRetries: DefaultMaxRetries}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxRetries < 0 {
		return nil, fmt.Errorf("postgres: open: max retries %d is negative: %w", cfg.maxRetries, store.ErrInvalid)
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: parse connection string: %v: %w", err, store.ErrInvalid)
	}
	if cfg.pool != nil {
		cfg.pool(pcfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if cfg.revokeBatch <= 0 {
		cfg.revokeBatch = revokeBatch
	}
	return &Store{pool: pool, maxRetries: cfg.maxRetries, revokeBatch: cfg.revokeBatch}, nil
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in file-name order, in one transaction holding a
// transaction-scoped advisory lock.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	sort.Strings(names)
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
			return fmt.Errorf("postgres: migrate: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		for _, name := range names {
			version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
			var done bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", version).Scan(&done); err != nil {
				return fmt.Errorf("postgres: migrate %s: %w", version, err)
			}
			if done {
				continue
			}
			sql, err := migrations.ReadFile(name)
			if err != nil {
				return fmt.Errorf("postgres: migrate %s: %w", version, err)
			}
			// No arguments: pgx uses the simple protocol, which runs a
			// multi-statement script.
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("postgres: migrate %s: %w", version, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", version); err != nil {
				return fmt.Errorf("postgres: migrate %s: %w", version, err)
			}
		}
		return nil
	})
}

// Update runs fn in a SERIALIZABLE transaction and commits it if fn
// returns nil. On a serialisation failure or deadlock (in any statement,
// even one whose error fn swallowed, or at commit) it rolls back and runs
// fn again, up to the retry limit, with jittered exponential backoff.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.run(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable}, true, fn)
		if err == nil || !retryable(err) {
			return err
		}
		if attempt >= s.maxRetries {
			return fmt.Errorf("postgres: gave up after %d retries: %w: %w", attempt, store.ErrConflict, err)
		}
		backoff := time.Duration(1<<min(attempt, 6)) * time.Millisecond
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres: retry abandoned: %w", ctx.Err())
		case <-time.After(backoff/2 + rand.N(backoff)):
		}
	}
}

// View runs fn in a READ ONLY REPEATABLE READ transaction: one consistent
// snapshot, and no serialisation failures to retry.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, false, fn)
}

func (s *Store) run(ctx context.Context, opts pgx.TxOptions, writable bool, fn func(store.Tx) error) error {
	if s.closed.Load() {
		return fmt.Errorf("postgres: %w", store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: transaction not started: %w", err)
	}
	ptx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	// Rolls back on error and on panic; a no-op after Commit.
	defer ptx.Rollback(context.WithoutCancel(ctx))
	t := &tx{ctx: ctx, q: ptx, writable: writable, batch: s.revokeBatch}
	err = fn(t)
	t.done = true
	if t.conflict != nil {
		return t.conflict
	}
	if t.broken != nil {
		return t.broken
	}
	if err != nil {
		return err
	}
	if err := t.flush(); err != nil {
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// retryable reports a serialisation failure or deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// Close closes the pool. Later calls, including Close, fail with store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("postgres: close: %w", store.ErrClosed)
	}
	s.pool.Close()
	return nil
}

// TryAdvisoryLock takes the session-level advisory lock key on a
// connection reserved for it, without waiting. ok is false if another
// session holds it. The lock lasts until release is called (idempotent)
// or the connection dies, so scheduled work guarded by it runs on exactly
// one instance; a holder that crashes frees it when PostgreSQL notices the
// dropped connection.
func (s *Store) TryAdvisoryLock(ctx context.Context, key int64) (release func(), ok bool, err error) {
	if s.closed.Load() {
		return nil, false, fmt.Errorf("postgres: advisory lock: %w", store.ErrClosed)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: advisory lock %d: %w", key, err)
	}
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("postgres: advisory lock %d: %w", key, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	var released atomic.Bool
	release = func() {
		if released.Swap(true) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var unlocked bool
		if err := conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", key).Scan(&unlocked); err != nil || !unlocked {
			// Never return a connection that may still hold the lock to
			// the pool: closing it ends the session and the lock.
			conn.Conn().Close(ctx)
		}
		conn.Release()
	}
	return release, true, nil
}
