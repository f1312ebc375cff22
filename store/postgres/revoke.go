package postgres

import (
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// Revoke marks serial revoked by appending a Revocation numbered from the
// revocation counter row, which concurrent revokers serialise on (see
// seq.go). The counter is locked before the certificate is read, so at
// READ COMMITTED (Urgent) no other revoker can change it in between.
func (t *tx) Revoke(serial string, reason int, at time.Time) (store.Revocation, error) {
	if err := t.write("revoke"); err != nil {
		return store.Revocation{}, err
	}
	if err := check.Revocation(serial, reason, at); err != nil {
		return store.Revocation{}, fmt.Errorf("postgres: revoke: %w", err)
	}
	op := "revoke " + serial
	t.dropCertificates()
	if err := t.lockRevocationSeq(); err != nil {
		return store.Revocation{}, err
	}
	var revokedAt *string
	var prevSeq *int64
	r := store.Revocation{Serial: serial, Reason: reason, RevokedAt: at.UTC()}
	row := t.q.QueryRow(t.ctx, `SELECT c.issuer, c.user_id, c.party_id, r.revoked_at, r.seq
		FROM `+certFrom+` WHERE c.serial = $1`, serial)
	if err := row.Scan(&r.Issuer, &r.UserID, &r.PartyID, &revokedAt, &prevSeq); err != nil {
		return store.Revocation{}, t.notFound(op, err)
	}
	if prevSeq != nil {
		return store.Revocation{}, fmt.Errorf("postgres: %s: revoked at %s (seq %d): %w", op, deref(revokedAt), *prevSeq, store.ErrAlreadyRevoked)
	}
	seq, err := t.nextRevocationSeq()
	if err != nil {
		return store.Revocation{}, err
	}
	r.Seq = uint64(seq)
	if _, err := t.exec(op, `INSERT INTO revocations (seq, serial, reason, revoked_at)
		VALUES ($1, $2, $3, $4)`, seq, serial, reason, ts(r.RevokedAt)); err != nil {
		return store.Revocation{}, err
	}
	return r, nil
}

func scanRevocation(row pgx.Row, r *store.Revocation) error {
	var seq int64
	var at string
	if err := row.Scan(&seq, &r.Serial, &r.Issuer, &r.UserID, &r.PartyID, &r.Reason, &at); err != nil {
		return err
	}
	r.Seq = uint64(seq)
	return times(&at, &r.RevokedAt)
}

// RevocationsSince returns revocations with Seq > since, in order, with
// the issuer, user and party of their certificates (migration 0007).
func (t *tx) RevocationsSince(since uint64, limit int) ([]store.Revocation, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := check.Limit(limit); err != nil {
		return nil, fmt.Errorf("postgres: revocations since %d: %w", since, err)
	}
	if since >= math.MaxInt64 {
		return nil, nil
	}
	return queryAll(t, "revocations", scanRevocation, `SELECT r.seq, r.serial, c.issuer, c.user_id, c.party_id, r.reason, r.revoked_at
		FROM revocations r JOIN certificates c ON c.serial = r.serial WHERE r.seq > $1 ORDER BY r.seq LIMIT $2`, int64(since), limitArg(limit))
}

// RevocationSeq returns the latest revocation sequence number (0 if none).
func (t *tx) RevocationSeq() (uint64, error) {
	if err := t.read(); err != nil {
		return 0, err
	}
	if t.rev.locked {
		return uint64(t.rev.value), nil
	}
	var seq int64
	err := t.one("revocation seq", t.q.QueryRow(t.ctx, "SELECT value FROM counters WHERE name = 'revocation'"), &seq)
	return uint64(seq), err
}

func scanAudit(row pgx.Row, e *store.AuditEntry) error {
	var seq int64
	var at string
	if err := row.Scan(&seq, &at, &e.Actor, &e.Action, &e.Subject, &e.Result, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
		return err
	}
	e.Seq = uint64(seq)
	return times(&at, &e.Time)
}

// AuditEntries returns entries with Seq >= from, in order.
func (t *tx) AuditEntries(from uint64, limit int) ([]store.AuditEntry, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := check.Limit(limit); err != nil {
		return nil, fmt.Errorf("postgres: audit entries: %w", err)
	}
	if from > math.MaxInt64 {
		return nil, nil
	}
	return queryAll(t, "audit entries", scanAudit, `SELECT seq, time, actor, action, subject, result, detail, prev_hash, hash
		FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2`, int64(from), limitArg(limit))
}
