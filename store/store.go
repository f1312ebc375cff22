package store

import (
	"context"
	"errors"
	"time"
)

// Stable error codes. Engines wrap these with %w and context.
var (
	ErrNotFound        = errors.New("E_STORE_NOT_FOUND")
	ErrDuplicateSerial = errors.New("E_STORE_DUPLICATE_SERIAL")
	ErrDuplicateKey    = errors.New("E_STORE_DUPLICATE_KEY")
	ErrExists          = errors.New("E_STORE_EXISTS")
	ErrAlreadyRevoked  = errors.New("E_STORE_ALREADY_REVOKED")
	ErrInvalid         = errors.New("E_STORE_INVALID")
	ErrReadOnly        = errors.New("E_STORE_READ_ONLY")
	// ErrClosed: the Store was closed (every engine, every call after Close).
	ErrClosed = errors.New("E_STORE_CLOSED")
	// ErrCorrupt: a stored record, value or counter cannot be decoded.
	ErrCorrupt = errors.New("E_STORE_CORRUPT")
	// ErrConflict: Update still hit serialisation failures after the
	// engine's retries (an engine that serialises writers never returns it).
	ErrConflict = errors.New("E_STORE_CONFLICT")
	// ErrInDoubt: the connection was lost while the transaction's commit
	// was in flight and the engine could not learn its outcome: the change
	// may or may not be durable. The caller settles it by re-reading what
	// the transaction wrote in a new one (ca: the issuance intent).
	ErrInDoubt = errors.New("E_STORE_COMMIT_IN_DOUBT")
	// ErrFull: the engine could not write because its disk is full (an
	// engine whose errors do not carry the operating system's ENOSPC says
	// it with this; PostgreSQL: SQLSTATE 53100 disk_full). The RA answers
	// 503 E_STORE_FULL either way (issue 12 finding 12).
	ErrFull = errors.New("E_STORE_FULL")
	// ErrTooNew: the store was upgraded by a newer smki (a bbolt layout
	// version, a PostgreSQL migration) that this one does not know, so it
	// could misread it; the engine refuses to open it rather than guess.
	ErrTooNew = errors.New("E_STORE_TOO_NEW")
)

// SerialError names the serial a batch call (RevokeMany) failed on. It
// wraps the store code, so errors.Is still sees ErrNotFound and the like,
// and errors.As gives callers the serial without parsing a message.
type SerialError struct {
	Serial string
	Err    error
}

func (e *SerialError) Error() string { return "serial " + e.Serial + ": " + e.Err.Error() }

func (e *SerialError) Unwrap() error { return e.Err }

// Store is a transactional store. Implementations are safe for concurrent
// use. A function passed to Update or View must not retain the Tx after it
// returns, and may be called more than once if the engine retries a
// serialisation conflict, so it must have no side effects outside the Tx.
type Store interface {
	// Update runs fn in one read-write transaction. If fn returns an error
	// nothing it wrote is kept, and that error is returned. Contention
	// the engine could not resolve by retrying is ErrConflict.
	Update(ctx context.Context, fn func(Tx) error) error
	// Urgent is Update for work that must not be starved by concurrent
	// Updates: revocation. It has priority: Updates of this process that
	// have not started wait until running Urgent transactions finish, and
	// an engine runs it so that concurrent Updates cannot make it fail or
	// retry (see docs/architecture.md, "Contention"). fn must do what it
	// writes through Tx methods that lock what they check (every Tx
	// method does in an Urgent transaction).
	Urgent(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction; writes fail with ErrReadOnly.
	// fn may run more than once (as Update's may), and must return the
	// errors of Tx methods it cannot answer without: an engine may answer
	// one with an error that means "run again" (PostgreSQL ends a View
	// with its read ahead, see Prefetch, and runs it again if it reads
	// past it); the View's answer is then the last run's.
	View(ctx context.Context, fn func(Tx) error) error
	// Audit appends e to the audit log outside any transaction, in a
	// group commit shared with concurrent Audit calls: it returns once e
	// is durable, and it never waits for, or conflicts with, a running
	// Update. For records that accompany no change (audited reads). Seq
	// and the hashes are assigned when e is sealed (SealAudit).
	Audit(ctx context.Context, e AuditEntry) error
	// SealAudit chains every audit entry committed before the call into
	// the hash chain (AuditEntries returns only chained entries). Engines
	// also seal by themselves within a bounded delay of each commit.
	SealAudit(ctx context.Context) error
	// Close releases the store. Further calls fail.
	Close() error
}

// Tx is one transaction's view of the store.
type Tx interface {
	// Meta: small named values such as CA configuration.
	GetMeta(key string) ([]byte, error) // ErrNotFound
	PutMeta(key string, value []byte) error

	// Issuance intents: recorded before signing so that nothing is signed
	// that the store does not know about.
	// CreateIntent fails with ErrDuplicateSerial if the serial is held by
	// any intent or certificate, whatever its state.
	CreateIntent(in Intent) error
	GetIntent(serial string) (Intent, error)
	SetIntentState(serial string, state IntentState) error
	OpenIntents() ([]Intent, error)

	// Certificates. PutCertificate inserts; it fails with
	// ErrDuplicateSerial if the serial has a certificate, and with
	// ErrDuplicateKey if KeyHash is non-empty and certified for another
	// UserID.
	PutCertificate(c Certificate) error
	// GetCertificate returns the certificate of serial (ErrNotFound). In
	// an Update, a certificate read with it cannot be revoked by another
	// transaction, Urgent ones included, before this one commits (as a
	// party or user read with GetParty or GetUser cannot change), so a
	// status checked there still holds when this transaction's writes
	// become visible.
	GetCertificate(serial string) (Certificate, error)
	// ListCertificates returns certificates matching every non-zero field
	// of f, ordered by serial, at most f.Limit (0: no limit).
	ListCertificates(f CertFilter) ([]Certificate, error)
	// CertificatesByKey returns every certificate for a key hash.
	CertificatesByKey(keyHash string) ([]Certificate, error)
	// IssuanceSeq returns the latest issuance sequence number (0 if
	// none). PutCertificate assigns each certificate the next one (the
	// first is 1), gap-free and in commit order, so "what was issued
	// since N" (CertificatesIssuedSince) never misses a certificate.
	IssuanceSeq() (uint64, error)
	// CertificatesIssuedSince returns certificates with IssuanceSeq >
	// since, in issuance order, at most limit (0: no limit).
	CertificatesIssuedSince(since uint64, limit int) ([]Certificate, error)

	// Revocation. Revoke marks the certificate revoked and appends a
	// Revocation with the next sequence number (the first is 1). It fails
	// with ErrAlreadyRevoked if the certificate is revoked.
	Revoke(serial string, reason int, at time.Time) (Revocation, error)
	// RevokeMany is Revoke for every serial in order, as one step: the
	// returned Revocations are in the given order with consecutive
	// sequence numbers. It is all-or-nothing within the transaction: if
	// the reason or time is unusable or a serial malformed (ErrInvalid),
	// or a serial is unknown (ErrNotFound), already revoked or listed
	// twice (ErrAlreadyRevoked), it writes nothing and the transaction may
	// go on. Such an error wraps a *SerialError naming the first offending
	// serial in list order (the first serial, for a bad reason or time).
	// An empty list writes nothing and returns no Revocations. Engines
	// read and write in batches, so a bulk revocation costs a few round
	// trips per batch instead of several per serial.
	RevokeMany(serials []string, reason int, at time.Time) ([]Revocation, error)
	// RevocationsSince returns revocations with Seq > since, in order, at
	// most limit (0: no limit).
	RevocationsSince(since uint64, limit int) ([]Revocation, error)
	// RevocationSeq returns the latest revocation sequence (0 if none).
	RevocationSeq() (uint64, error)

	// CRLs by name ("orl", "arl").
	GetCRL(name string) (CRL, error) // ErrNotFound
	PutCRL(c CRL) error

	// Parties, users and officers. In a read-write transaction, a party
	// or user read with GetParty or GetUser cannot be changed by another
	// transaction, Urgent ones included, before this one commits (the
	// engine locks the row or serialises writers), so a status checked
	// there still holds when this transaction's writes become visible.
	CreateParty(p Party) error // ErrExists
	GetParty(id string) (Party, error)
	PutParty(p Party) error // update an existing party; ErrNotFound
	ListParties() ([]Party, error)
	CreateUser(u User) error // ErrExists
	GetUser(id string) (User, error)
	PutUser(u User) error
	ListUsers(partyID string) ([]User, error) // "" for all
	CreateOfficer(o Officer) error            // ErrExists
	GetOfficer(id string) (Officer, error)
	PutOfficer(o Officer) error
	ListOfficers(partyID string) ([]Officer, error) // "" for all

	// Records: the RA's other durable state (SoLR events, ADT files, the
	// device registry, allow-lists, scheduled work) as opaque values keyed
	// by kind and ID. Kinds and IDs are non-empty, at most 255 bytes and
	// NUL-free. Values are owned by the package that defines the kind.
	PutRecord(kind, id string, value []byte) error
	GetRecord(kind, id string) ([]byte, error) // ErrNotFound
	DeleteRecord(kind, id string) error        // ErrNotFound
	// ListRecords returns records of kind with ID > after, in ID byte
	// order, at most limit (0: no limit).
	ListRecords(kind, after string, limit int) ([]Record, error)

	// Audit. AppendAudit records e with this transaction (callers set
	// every field but Seq, PrevHash and Hash). The entry joins the hash
	// chain when it is sealed: Seq (the first is 1), PrevHash and Hash
	// (see HashAudit) are assigned then, in seal order. An engine may seal
	// in the transaction itself; the returned entry then carries them,
	// otherwise its Seq is 0 and Store.SealAudit, or the engine's own
	// sealer shortly after commit, chains it.
	AppendAudit(e AuditEntry) (AuditEntry, error)
	// AuditEntries returns sealed entries with Seq >= from, in order, at
	// most limit (0: no limit).
	AuditEntries(from uint64, limit int) ([]AuditEntry, error)
}
