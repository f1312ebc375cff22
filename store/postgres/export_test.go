package postgres

// WithRevokeBatch sets how many serials one RevokeMany statement revokes,
// so that tests reach the multi-batch path with a handful of serials.
func WithRevokeBatch(n int) Option { return func(c *config) { c.revokeBatch = n } }
