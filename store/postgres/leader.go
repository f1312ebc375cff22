package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/smki/smki/store"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Leader elects one instance, among those sharing the database, to run
// scheduled work: the one whose session holds the advisory lock key. The
// lock is held on a connection reserved for it until Release, the
// process's death (PostgreSQL ends the session and frees the lock, and
// another instance's next Poll takes it) or a failed liveness check.
//
// Leadership is an optimisation, not what makes scheduled work correct:
// every job re-reads its state in the transaction that does it, so two
// instances that briefly both believe they lead (a partition that
// PostgreSQL has not yet noticed) still do each job once.
type Leader struct {
	s   *Store
	key int64

	mu   sync.Mutex
	conn *pgxpool.Conn // non-nil while leading
}

// NewLeader returns a Leader for key; it leads nothing until Poll.
func (s *Store) NewLeader(key int64) *Leader { return &Leader{s: s, key: key} }

// pingTimeout bounds the liveness check of a held lock's session.
const pingTimeout = 5 * time.Second

// Poll makes this instance leader if the lock is free, or, if it already
// leads, checks that the lock's session is alive (a dead one is closed and
// leadership given up). It reports whether this instance leads now.
func (l *Leader) Poll(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := l.conn.Ping(pctx)
		cancel()
		if err == nil {
			return true, nil
		}
		// The session, and with it the lock, may be gone: never return
		// such a connection to the pool.
		l.conn.Conn().Close(context.Background())
		l.conn.Release()
		l.conn = nil
		return false, fmt.Errorf("postgres: leader lock %d: session lost: %w", l.key, err)
	}
	if l.s.closed.Load() {
		return false, fmt.Errorf("postgres: leader lock %d: %w", l.key, store.ErrClosed)
	}
	conn, err := l.s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: leader lock %d: %w", l.key, err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", l.key).Scan(&ok); err != nil {
		conn.Release()
		return false, fmt.Errorf("postgres: leader lock %d: %w", l.key, err)
	}
	if !ok {
		conn.Release()
		return false, nil
	}
	l.conn = conn
	return true, nil
}

// Leading reports the state of the last Poll, without a round trip.
func (l *Leader) Leading() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn != nil
}

// TryLock is Poll in the shape of ra.Locker: ok while this instance
// leads. The release it returns does nothing: leadership outlives one
// piece of work and ends with Release.
func (l *Leader) TryLock(ctx context.Context) (release func(), ok bool, err error) {
	ok, err = l.Poll(ctx)
	return func() {}, ok, err
}

// Release gives up leadership (idempotent). Closing the session, rather
// than unlocking on it, guarantees the lock is gone whatever state the
// connection is in.
func (l *Leader) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	// Unlock before closing: a closed session's locks are freed only when
	// its backend exits, after Close returns, so another instance polling
	// right away would still find the lock held.
	var unlocked bool
	_ = l.conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", l.key).Scan(&unlocked)
	l.conn.Conn().Close(ctx)
	l.conn.Release()
	l.conn = nil
}
