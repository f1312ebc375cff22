package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/smki/smki/store"
)

// ReadOnly is a store.Store that only reads a database an RA writes: for
// a process that must never change it (smki repo serve). Its sessions
// run with default_transaction_read_only, so PostgreSQL itself refuses a
// write; Update, Urgent, Audit and SealAudit fail with
// store.ErrReadOnly without reaching the database. It applies no
// migration and seals no audit entries: OpenReadOnly refuses a schema
// older than this smki.
type ReadOnly struct{ s *Store }

var _ store.Store = (*ReadOnly)(nil)

// OpenReadOnly connects to url for reading only (see ReadOnly).
func OpenReadOnly(ctx context.Context, url string, opts ...Option) (*ReadOnly, error) {
	cfg := config{maxRetries: DefaultMaxRetries}
	for _, o := range opts {
		o(&cfg)
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open read-only: parse connection string: %v: %w", err, store.ErrInvalid)
	}
	if cfg.pool != nil {
		cfg.pool(pcfg)
	}
	pcfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open read-only: %w", err)
	}
	if err := schemaCurrent(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &ReadOnly{s: &Store{pool: pool, maxRetries: cfg.maxRetries}}, nil
}

// schemaCurrent checks that every migration this binary embeds is
// applied: a reader of an older schema would misread it.
func schemaCurrent(ctx context.Context, pool *pgxpool.Pool) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("postgres: open read-only: %w", err)
	}
	applied := map[string]bool{}
	rows, err := pool.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("postgres: open read-only: the database holds no smki schema (start the RA on it first): %w", store.ErrInvalid)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: open read-only: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: open read-only: %w", err)
	}
	if err := refuseNewerSchema(ctx, pool); err != nil {
		return fmt.Errorf("postgres: open read-only: %w", err)
	}
	for _, n := range names {
		if v := strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql"); !applied[v] {
			return fmt.Errorf("postgres: open read-only: migration %s is not applied: upgrade the RA (smki serve) on this database first: %w", v, store.ErrInvalid)
		}
	}
	return nil
}

func (r *ReadOnly) refuse(what string) error {
	return fmt.Errorf("postgres: %s on a read-only store: %w", what, store.ErrReadOnly)
}

// View runs fn in a read-only transaction (Store.View).
func (r *ReadOnly) View(ctx context.Context, fn func(store.Tx) error) error { return r.s.View(ctx, fn) }

// Update fails with store.ErrReadOnly.
func (r *ReadOnly) Update(context.Context, func(store.Tx) error) error { return r.refuse("update") }

// Urgent fails with store.ErrReadOnly.
func (r *ReadOnly) Urgent(context.Context, func(store.Tx) error) error {
	return r.refuse("urgent update")
}

// Audit fails with store.ErrReadOnly.
func (r *ReadOnly) Audit(context.Context, store.AuditEntry) error { return r.refuse("audit") }

// SealAudit fails with store.ErrReadOnly.
func (r *ReadOnly) SealAudit(context.Context) error { return r.refuse("seal audit") }

// Close releases the connections.
func (r *ReadOnly) Close() error {
	if r.s.closed.Swap(true) {
		return fmt.Errorf("postgres: close: %w", store.ErrClosed)
	}
	r.s.pool.Close()
	return nil
}
