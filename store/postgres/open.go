package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/groupcommit"
	"github.com/smki/smki/store/internal/priority"
	"github.com/smki/smki/store/internal/sealer"
)

// ErrInDoubt: the connection was lost while COMMIT was in flight and
// the server could not say within InDoubtWait whether the transaction
// committed. It is store.ErrInDoubt.
var ErrInDoubt = store.ErrInDoubt

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLockKey is the advisory lock Open holds while migrating, so two
// instances starting together apply each migration once. It is
// database-wide; migrations are short.
const migrateLockKey int64 = 0x736d6b692d6d6967 // "smki-mig"

// DefaultMaxRetries is how many times Update reruns fn after a
// serialisation failure or deadlock before giving up with
// store.ErrConflict (a lost connection is retried for LostConnWait).
const DefaultMaxRetries = 30

// DefaultSealDelay is how often each Store seals pending audit entries
// into the chain (seal.go): the bound on how long an entry stays outside
// the chain while any instance runs.
const DefaultSealDelay = 100 * time.Millisecond

// LostConnWait bounds how long a transaction is retried on new
// connections while each attempt's connection is lost (the server
// restarting, sessions being ended).
const LostConnWait = 10 * time.Second

// InDoubtWait bounds how long Update waits for the server to settle a
// transaction whose COMMIT was in flight when its connection was lost.
const InDoubtWait = 10 * time.Second

type config struct {
	maxRetries  int
	pool        func(*pgxpool.Config)
	revokeBatch int // 0: revokeBatch; tests set it small (export_test.go)
	sealDelay   time.Duration
	// beforeCommit: see Store.beforeCommit (tests, export_test.go).
	beforeCommit func(*pgx.Conn)
	log          *slog.Logger
}

// Option configures Open.
type Option func(*config)

// WithMaxRetries sets how often Update retries a serialisation failure or
// deadlock (>= 0).
func WithMaxRetries(n int) Option { return func(c *config) { c.maxRetries = n } }

// WithPoolConfig lets the caller adjust the pgxpool configuration (pool
// size, AfterConnect, TLS) before connecting.
func WithPoolConfig(f func(*pgxpool.Config)) Option { return func(c *config) { c.pool = f } }

// WithSealDelay sets how often the Store seals pending audit entries
// (> 0; default DefaultSealDelay).
func WithSealDelay(d time.Duration) Option { return func(c *config) { c.sealDelay = d } }

// WithLogger sets where a failing background seal of pending audit
// entries is logged (store/internal/sealer), and Close's own seal if it
// fails; without it, failures are only counted (AuditSealFailures).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Store is a store.Store over a PostgreSQL database. It is safe for
// concurrent use, and several Stores (processes) may share one database.
type Store struct {
	pool        *pgxpool.Pool
	maxRetries  int
	revokeBatch int
	closed      atomic.Bool

	gate   priority.Gate                          // Urgent before Update
	audits *groupcommit.Batcher[store.AuditEntry] // Store.Audit
	sealMu sync.Mutex                             // one sealer per process
	sealer *sealer.Loop
	log    *slog.Logger // nil: none

	// beforeCommit, if set (tests: export_test.go), is called with the
	// connection of each read-write transaction just before its COMMIT.
	beforeCommit func(*pgx.Conn)
}

var (
	_ store.Store            = (*Store)(nil)
	_ store.AuditSealMonitor = (*Store)(nil)
)

// Open connects to url (a pgx connection string; a search_path parameter
// selects the schema), applies any pending migrations, seals any audit
// entries left pending and starts sealing every seal delay.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg := config{maxRetries: DefaultMaxRetries, sealDelay: DefaultSealDelay}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxRetries < 0 {
		return nil, fmt.Errorf("postgres: open: max retries %d is negative: %w", cfg.maxRetries, store.ErrInvalid)
	}
	if cfg.sealDelay <= 0 {
		return nil, fmt.Errorf("postgres: open: seal delay %v must be positive: %w", cfg.sealDelay, store.ErrInvalid)
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
	s := &Store{pool: pool, maxRetries: cfg.maxRetries, revokeBatch: cfg.revokeBatch, beforeCommit: cfg.beforeCommit, log: cfg.log}
	s.audits = groupcommit.New(s.writeAudits)
	if err := s.SealAudit(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s.sealer = sealer.Start(cfg.sealDelay, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := s.seal(ctx, false)
		return err
	}, cfg.log, "postgres")
	return s, nil
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
		if err := refuseNewerSchema(ctx, tx); err != nil {
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
// returns nil. It waits first while an Urgent transaction of this process
// is pending. fn runs again (up to the retry limit, with jittered
// exponential backoff) after a serialisation failure or deadlock (in any
// statement, even one whose error fn swallowed, or at commit), and after
// a lost connection: one lost before COMMIT was sent wrote nothing, and
// one lost during COMMIT is settled at once by asking the server what
// became of the transaction (settle), so fn never runs twice for one
// committed change.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.gate.Wait(ctx); err != nil {
		return fmt.Errorf("postgres: transaction not started: %w", err)
	}
	m, opts := modeSerializable, pgx.TxOptions{IsoLevel: pgx.Serializable}
	return s.retry(ctx, func() error {
		err := s.run(ctx, opts, m, fn)
		if errors.Is(err, errIssuanceRace) {
			// see errIssuanceRace
			m, opts = modeQueued, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}
		}
		return err
	})
}

// errIssuanceRace marks a serialisation failure on the issuance counter
// row: another issuance committed a number after this transaction's
// snapshot was taken, or any other serialisation failure of a transaction
// that advanced the counter. Every concurrent issuance but one fails that way
// (the row is the sequence's one writer), so retrying the same way would
// fail again under load. The retry runs in modeQueued instead, as an
// Urgent transaction does: at READ COMMITTED, where Tx methods lock what
// they check (so check-then-write holds as under SERIALIZABLE) and no
// concurrent transaction can make it fail with a serialisation error, and
// with LOCK TABLE issuance_lock IN EXCLUSIVE MODE first, so queued
// issuers go one at a time and issuers on their first attempt wait for
// them before they advance the counter (issuanceSeqSQL). A queued issuance
// therefore commits at its first attempt instead of retrying without
// bound. (Queued at SERIALIZABLE, it still lost: as a pivot between
// issuances on their first attempt and intents, it failed 30 times in a
// row under load, and the conformance test ConcurrentIssuance gave up.)
var errIssuanceRace = errors.New("postgres: issuance counter taken by a concurrent issuance")

// Urgent runs fn at READ COMMITTED, where no concurrent transaction can
// make it fail with a serialisation error: every Tx method it calls locks
// the rows it checks before writing (the revocation counter first, then
// certificate, record and CRL rows; see docs/architecture.md). While it is
// pending, Updates of this process wait. A deadlock or a lost connection
// is retried as in Update.
func (s *Store) Urgent(ctx context.Context, fn func(store.Tx) error) error {
	done := s.gate.Urgent()
	defer done()
	return s.retry(ctx, func() error {
		return s.run(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, modeLocking, fn)
	})
}

// View runs fn in a READ ONLY REPEATABLE READ transaction: one consistent
// snapshot, and no serialisation failures to retry. A lost connection is
// retried.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	m := modeReadAhead
	return s.retry(ctx, func() error {
		for {
			err := s.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, m, fn)
			if m == modeReadAhead && errors.Is(err, errReread) {
				m = modeRead // see txConn.FlushReads
				continue
			}
			return err
		}
	})
}

// retry runs attempt until it succeeds, fails for a reason a retry cannot
// help, or the retry budget is spent (store.ErrConflict). Contention
// (serialisation failures, deadlocks) has the budget of maxRetries
// attempts; a lost connection is not contention and is retried on
// another connection for up to LostConnWait, however many sessions are
// ended meanwhile (issue 13: every session ended every 200 ms).
func (s *Store) retry(ctx context.Context, attempt func() error) error {
	var lostSince time.Time
	for n, lost := 0, 0; ; {
		err := attempt()
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return diskFull(err)
		}
		var backoff time.Duration
		if errors.Is(err, errLost) {
			if lostSince.IsZero() {
				lostSince = time.Now()
			}
			if time.Since(lostSince) > LostConnWait {
				return fmt.Errorf("postgres: gave up after losing the connection for %v (%d attempts): %w: %w",
					LostConnWait, lost+1, store.ErrConflict, err)
			}
			lost++
			backoff = time.Duration(1<<min(lost, 5)) * time.Millisecond
		} else {
			if n >= s.maxRetries {
				return fmt.Errorf("postgres: gave up after %d retries: %w: %w", n, store.ErrConflict, err)
			}
			n++
			backoff = time.Duration(1<<min(n-1, 6)) * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres: retry abandoned: %w", ctx.Err())
		case <-time.After(backoff/2 + rand.N(backoff)):
		}
	}
}

// mode is how a transaction runs.
type mode int

const (
	modeRead         mode = iota // View: read only
	modeReadAhead                // View that may end with its read ahead (txConn.FlushReads)
	modeSerializable             // Update: SERIALIZABLE, conflicts retried
	modeLocking                  // Urgent: READ COMMITTED, Tx methods lock what they check
	modeQueued                   // Update after errIssuanceRace: READ COMMITTED as modeLocking, issuers queued first
)

// errLost marks an attempt whose connection was lost before its COMMIT
// was sent (or whose COMMIT the server settled as aborted): nothing was
// written, and fn may run again on another connection.
var errLost = errors.New("postgres: connection lost before commit; retrying on another connection")

func (s *Store) run(ctx context.Context, opts pgx.TxOptions, m mode, fn func(store.Tx) error) error {
	if s.closed.Load() && ctx.Value(closingSealKey{}) == nil {
		return fmt.Errorf("postgres: %w", store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: transaction not started: %w", err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		if ctx.Err() == nil && lostConn(err) {
			return fmt.Errorf("%w: begin: %w", errLost, err)
		}
		return fmt.Errorf("postgres: begin: %w", err)
	}
	// BEGIN goes with the first statement (txConn); a queued issuance
	// takes its place in the queue right after it, before any snapshot.
	lock := ""
	if m == modeQueued {
		lock = "LOCK TABLE issuance_lock IN EXCLUSIVE MODE"
	}
	ptx := newTxConn(conn, opts, lock)
	ptx.endEarly = m == modeReadAhead
	// Rolls back on error and on panic; a no-op after Commit.
	defer ptx.Rollback(context.WithoutCancel(ctx))
	readOnly := m == modeRead || m == modeReadAhead
	t := &tx{ctx: ctx, q: ptx, writable: !readOnly, locking: m == modeLocking || m == modeQueued,
		urgent: m == modeLocking, batch: s.revokeBatch}
	err = fn(t)
	t.done = true
	if ptx.reread {
		// It read past its read ahead after ending with it: whatever it
		// made of errReread, it runs again (View).
		return errReread
	}
	if ctx.Err() == nil && ptx.Conn().IsClosed() {
		// Whatever fn made of it, the server has rolled back.
		return fmt.Errorf("%w: %v", errLost, err)
	}
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
	ptx.DropReads() // fn has returned: nothing reads them now
	if !ptx.begun() {
		// fn sent nothing: there is nothing to commit.
		return ptx.Commit(ctx)
	}
	// The transaction's ID, if it wrote anything, so that a COMMIT whose
	// answer is lost can be settled.
	xid := t.xid
	if !readOnly && xid == nil {
		if err := ptx.QueryRow(ctx, "SELECT pg_current_xact_id_if_assigned()::text").Scan(&xid); err != nil {
			if ctx.Err() == nil && lostConn(err) {
				return fmt.Errorf("%w: %w", errLost, err)
			}
			// The deferred writes went with this query: a serialisation
			// failure of theirs is the transaction's, as at COMMIT (an
			// issuance's retry queues, errIssuanceRace).
			err = t.fail("transaction id", err)
			if t.conflict != nil {
				return t.conflict
			}
			return err
		}
	}
	if s.beforeCommit != nil {
		s.beforeCommit(ptx.Conn())
	}
	err = ptx.Commit(ctx)
	if err == nil {
		return nil
	}
	if xid != nil && ctx.Err() != nil {
		// Cancelled while COMMIT was in flight: pgx closes the
		// connection, and the outcome is as unknown as for a lost one.
		return s.settle(ctx, *xid, err)
	}
	if xid == nil || !lostConn(err) {
		if lostConn(err) {
			return fmt.Errorf("%w: commit: %w", errLost, err) // wrote nothing
		}
		if retryable(err) && t.iss.locked {
			return fmt.Errorf("%w: commit: %w", errIssuanceRace, err)
		}
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return s.settle(ctx, *xid, err)
}

// settle asks the server, on another connection, whether transaction xid
// committed after its COMMIT's answer was lost: committed is success,
// aborted is a retry, and still in progress (a backend not yet gone) is
// asked again until InDoubtWait.
func (s *Store) settle(ctx context.Context, xid string, cause error) error {
	deadline := time.Now().Add(InDoubtWait)
	for {
		var status *string
		err := s.pool.QueryRow(context.WithoutCancel(ctx), "SELECT pg_xact_status($1::xid8)", xid).Scan(&status)
		switch {
		case err == nil && status != nil && *status == "committed":
			return nil
		case err == nil && status != nil && *status == "aborted":
			return fmt.Errorf("%w: commit of %s: %w", errLost, xid, cause)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres: commit of transaction %s: %w: %w (status query: %v)", xid, ErrInDoubt, cause, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// diskFull marks an error the server raised because its disk is full
// (SQLSTATE 53100 disk_full) with store.ErrFull, so the RA answers 503
// E_STORE_FULL as on bbolt rather than 500 (issue 12 finding 12). The
// rest of class 53 (out of memory, too many connections, a configuration
// limit) is not a full disk and keeps its error.
func diskFull(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "53100" && !errors.Is(err, store.ErrFull) {
		return fmt.Errorf("postgres: the database server's disk is full (SQLSTATE 53100): free space on the PostgreSQL server: %w: %w", store.ErrFull, err)
	}
	return err
}

// retryable reports a serialisation failure, a deadlock, a connection
// lost before commit, or the server's lock tables full (SQLSTATE 53200
// "out of shared memory": the predicate locks of SERIALIZABLE
// transactions fill them while a long transaction keeps those of every
// transaction committed since it began; they free as it ends, so this is
// contention and spends the same retry budget; docs/operations.md).
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.Is(err, errLost) || errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "53200")
}

// lostConn reports an error that means the session is gone: the server
// ended it (admin shutdown, as pg_terminate_backend does; crash shutdown;
// cannot connect now), a connection exception, or an I/O failure.
func lostConn(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ne net.Error
	return pgconn.SafeToRetry(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &ne) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "conn closed")
}

// Close stops the sealer, seals what is pending and closes the pool.
// Later calls, including Close, fail with store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("postgres: close: %w", store.ErrClosed)
	}
	s.sealer.Stop()
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), closingSealKey{}, true), 5*time.Second)
	defer cancel()
	// Best effort: the next Open seals what is left.
	if _, err := s.seal(ctx, true); err != nil && s.log != nil {
		s.log.Error("audit seal failed", "engine", "postgres", "err", err, "failures", 1)
	}
	s.pool.Close()
	return nil
}

// closingSealKey marks the context of Close's own seal: the one
// transaction run still starts once the Store is marked closed (so that a
// server stopped gracefully leaves its last audit entries chained, not
// pending until some instance opens the database again).
type closingSealKey struct{}

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
