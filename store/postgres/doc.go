// Package postgres is smki's shared store engine: store.Store over
// PostgreSQL through pgx, for several `smki serve` instances on one
// database.
//
// It owns the SQL schema (embedded migrations, applied by Open under an
// advisory lock), the transaction and retry policy, and TryAdvisoryLock
// for work that must run on exactly one instance. Semantics are
// store.Store's; it passes store/storetest.
//
// Update runs at SERIALIZABLE and retries serialisation failures (40001,
// 40P01) a bounded number of times, so fn may run more than once.
// SERIALIZABLE rather than REPEATABLE READ with hand-placed row locks:
// every check-then-write in the Tx methods (a serial is free, a key is not
// certified for another user, a certificate is not yet revoked) is then
// correct against concurrent instances by construction, and a forgotten
// FOR UPDATE cannot become a double issuance. Uniqueness is still enforced
// by constraints, through INSERT ... ON CONFLICT DO NOTHING, so a
// duplicate is an error code, not an aborted transaction. The revocation
// and audit sequences come from single-row counters updated inside the
// transaction: writers serialise on that row, so the numbers are gap-free
// and in commit order.
package postgres
