package store

import (
	"context"
	"io"
	"time"
)

// Exporter and Importer are the optional capabilities of a Tx that moving
// a store between engines needs (store/migrate; `smki store migrate`).
// They are separate from Tx because nothing else may use them: ordinary
// code must never choose a revocation's sequence number or an audit
// entry's hashes. Every engine in this module implements both on the Tx of
// Update (Exporter also on View's); callers discover them by type
// assertion.

// Exporter enumerates what Tx can only look up by key.
type Exporter interface {
	// MetaKeys returns every meta key, in byte order.
	MetaKeys() ([]string, error)
	// Intents returns intents of every state with serial > after, by
	// serial, at most limit (0: no limit).
	Intents(after string, limit int) ([]Intent, error)
	// CRLs returns every stored CRL, by name.
	CRLs() ([]CRL, error)
	// RecordKinds returns every kind that has at least one record, in
	// byte order.
	RecordKinds() ([]string, error)
}

// Importer writes state that Tx only lets the engine derive, so that a
// copy is exact. Each method keeps the engine's counters consistent: after
// an import, the ordinary methods carry on from the imported values.
type Importer interface {
	// ImportIntent stores in with its state (any valid state; CreateIntent
	// only creates open ones). The serial must be free, as for
	// CreateIntent (ErrDuplicateSerial).
	ImportIntent(in Intent) error
	// ImportRevocation revokes r.Serial exactly as r says: the certificate
	// gets Status revoked, RevokedAt, Reason and RevocationSeq = r.Seq, and
	// r is appended to the revocation sequence, which then continues from
	// r.Seq. r.Seq must be RevocationSeq()+1 (ErrInvalid), and r's Issuer,
	// UserID and PartyID must be the certificate's (ErrInvalid); the
	// certificate must exist (ErrNotFound) and not be revoked
	// (ErrAlreadyRevoked).
	ImportRevocation(r Revocation) error
	// ImportAudit appends e keeping its Seq, PrevHash and Hash. e.Seq must
	// be the next sequence number, e.PrevHash the current head's hash (nil
	// for the first) and e.Hash must equal HashAudit(e); otherwise
	// ErrInvalid and nothing is written. The chain therefore still
	// verifies after any sequence of successful imports.
	ImportAudit(e AuditEntry) error
}

// Backuper is the optional capability of a Store that can write a
// consistent copy of itself while it serves (`smki store backup`): the
// copy is one read transaction's view, so it holds every change committed
// before it began and none after. Engines with their own tools need not
// implement it (PostgreSQL: pg_dump). Callers discover it by type
// assertion on the Store.
type Backuper interface {
	// Backup calls start with the copy's exact size in bytes, then writes
	// the copy to the writer start returns, and returns the bytes written.
	// The copy is a file the same engine opens as a store.
	Backup(ctx context.Context, start func(size int64) (io.Writer, error)) (int64, error)
}

// AuditSealMonitor is the optional capability of a Store whose audit
// entries are durable before they are chained (Store.Audit's, and on
// PostgreSQL every AppendAudit's) and that seals them in the background:
// what an operator watches to see sealing fail (the server's
// smki_audit_unsealed_* and smki_audit_seal_failures_total). Every engine
// in this module implements it; callers discover it by type assertion.
type AuditSealMonitor interface {
	// AuditBacklog returns how many audit entries are durable but not yet
	// chained, and the time of the oldest (the zero time when none is).
	// A backlog that stays, or an oldest entry that keeps ageing, means
	// sealing fails: the entries are in no chain a verifier or a bundle's
	// audit head covers.
	AuditBacklog(ctx context.Context) (n int, oldest time.Time, err error)
	// AuditSealFailures returns how many background seals have failed
	// since the Store was opened. Each failure is also logged (rate
	// limited) to the logger the engine was opened with, if any.
	AuditSealFailures() uint64
}
