package postgres

import "github.com/jackc/pgx/v5"

// WithRevokeBatch sets how many serials one RevokeMany statement revokes,
// so that tests reach the multi-batch path with a handful of serials.
func WithRevokeBatch(n int) Option { return func(c *config) { c.revokeBatch = n } }

// WithBeforeCommit calls f with the connection of each read-write
// transaction just before its COMMIT is sent, so that tests can end the
// session at that moment.
func WithBeforeCommit(f func(*pgx.Conn)) Option { return func(c *config) { c.beforeCommit = f } }
