package postgres

import (
	"fmt"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// revokeBatch is how many serials one statement revokes: enough that round
// trips stop mattering next to the rows written, few enough to keep the
// array parameter and the RETURNING set small.
const revokeBatch = 4096

// revokeBatchSQL revokes the serials in $1 in one statement, numbering
// them $4+1, $4+2, ... in array order: it appends their revocations, which
// are their revocation state (migration 0006), and leaves the
// certificates' rows alone. The ok CTE checks, in the same statement and
// snapshot, that every serial has a certificate, none is revoked and none
// is listed twice; if not, the INSERT selects nothing and nothing is
// written (a failed statement would abort the whole transaction, which
// RevokeMany's contract does not allow). Revokers serialise on the
// revocation counter, locked first, so a concurrent revocation of one of
// the serials has committed before this statement's snapshot (READ
// COMMITTED) or fails this transaction with a serialisation error
// (SERIALIZABLE), and the retry sees it revoked.
const revokeBatchSQL = `WITH input AS (
	SELECT serial, ord FROM unnest($1::text[]) WITH ORDINALITY AS u(serial, ord)
), ok AS (
	SELECT count(*) = $5 AND count(DISTINCT i.serial) = $5 AS pass
	FROM input i JOIN certificates c ON c.serial = i.serial
	WHERE NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = i.serial)
)
INSERT INTO revocations (seq, serial, issuer, user_id, party_id, reason, revoked_at)
SELECT $4 + i.ord, i.serial, c.issuer, c.user_id, c.party_id, $3, $2
FROM input i JOIN certificates c ON c.serial = i.serial
WHERE (SELECT pass FROM ok)
RETURNING seq, issuer, user_id, party_id`

// RevokeMany revokes serials in order, in batches of the Store's batch
// size (revokeBatch), each one statement, plus one counter lock per
// transaction. A list of more than one batch runs under a savepoint, so
// that a batch refused after earlier ones were written leaves nothing; a
// single batch needs none, because a refused batch writes nothing.
// Savepoints are kept to that case: every one that writes takes a
// subtransaction ID, and a transaction with more than 64 of them slows
// every other session's snapshot checks.
func (t *tx) RevokeMany(serials []string, reason int, at time.Time) ([]store.Revocation, error) {
	if err := t.write("revoke many"); err != nil {
		return nil, err
	}
	if err := check.Revocations(serials, reason, at); err != nil {
		return nil, fmt.Errorf("postgres: revoke many: %w", err)
	}
	if len(serials) == 0 {
		return nil, nil
	}
	// Locked before any savepoint, so that rolling back to it keeps the
	// lock and only the in-memory count needs restoring.
	if err := t.lockRevocationSeq(); err != nil {
		return nil, err
	}
	if len(serials) <= t.batch {
		return t.revokeBatch(serials, reason, at.UTC())
	}
	savedRev, savedBroken := t.rev, t.broken
	if _, err := t.exec("revoke many", "SAVEPOINT smki_revoke_many"); err != nil {
		return nil, err
	}
	out := make([]store.Revocation, 0, len(serials))
	for start := 0; start < len(serials); start += t.batch {
		revs, err := t.revokeBatch(serials[start:min(start+t.batch, len(serials))], reason, at.UTC())
		if err != nil {
			if _, rbErr := t.exec("revoke many", "ROLLBACK TO SAVEPOINT smki_revoke_many"); rbErr != nil {
				return nil, fmt.Errorf("%w (and undoing the earlier batches failed: %w)", err, rbErr)
			}
			t.rev, t.broken = savedRev, savedBroken
			return nil, err
		}
		out = append(out, revs...)
	}
	if _, err := t.exec("revoke many", "RELEASE SAVEPOINT smki_revoke_many"); err != nil {
		return nil, err
	}
	return out, nil
}

// revokeBatch runs revokeBatchSQL for serials (at in UTC) and advances the
// in-memory revocation counter past them.
func (t *tx) revokeBatch(serials []string, reason int, at time.Time) ([]store.Revocation, error) {
	const op = "revoke many"
	base := t.rev.value
	rows, err := t.q.Query(t.ctx, revokeBatchSQL, serials, ts(at), reason, base, len(serials))
	if err != nil {
		return nil, t.fail(op, err)
	}
	out := make([]store.Revocation, len(serials))
	n := 0
	for rows.Next() {
		var seq int64
		var r store.Revocation
		if err := rows.Scan(&seq, &r.Issuer, &r.UserID, &r.PartyID); err != nil {
			rows.Close()
			return nil, t.fail(op, err)
		}
		i := seq - base - 1
		if i < 0 || i >= int64(len(serials)) {
			rows.Close()
			return nil, t.breakTx(fmt.Errorf("postgres: %s: revocation seq %d outside %d+1..%d: %w", op, seq, base, len(serials), store.ErrCorrupt))
		}
		r.Seq, r.Serial, r.Reason, r.RevokedAt = uint64(seq), serials[i], reason, at
		out[i] = r
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err)
	}
	switch n {
	case len(serials):
		t.rev.value += int64(n)
		t.rev.dirty = true
		return out, nil
	case 0:
		return nil, t.refusal(serials)
	default:
		// The ok CTE passed, yet the INSERT missed rows: half a batch is
		// written and cannot be taken back without a savepoint.
		return nil, t.breakTx(fmt.Errorf("postgres: %s: %d of %d serials revoked: %w", op, n, len(serials), store.ErrCorrupt))
	}
}

// refusal finds the first serial in a refused batch that is unknown,
// revoked or listed twice. It only runs when a batch is refused, so the
// extra round trip is not on the bulk path.
func (t *tx) refusal(serials []string) error {
	const op = "revoke many"
	rows, err := t.q.Query(t.ctx, `SELECT i.serial, c.serial IS NOT NULL, r.revoked_at, r.seq
		FROM unnest($1::text[]) WITH ORDINALITY AS i(serial, ord)
		LEFT JOIN certificates c ON c.serial = i.serial
		LEFT JOIN revocations r ON r.serial = i.serial ORDER BY i.ord`, serials)
	if err != nil {
		return t.fail(op, err)
	}
	defer rows.Close()
	seen := make(map[string]struct{}, len(serials))
	for rows.Next() {
		var serial string
		var known bool
		var revokedAt *string
		var prevSeq *int64
		if err := rows.Scan(&serial, &known, &revokedAt, &prevSeq); err != nil {
			return t.fail(op, err)
		}
		var why error
		switch _, dup := seen[serial]; {
		case dup:
			why = fmt.Errorf("listed twice: %w", store.ErrAlreadyRevoked)
		case !known:
			why = fmt.Errorf("no certificate: %w", store.ErrNotFound)
		case prevSeq != nil:
			why = fmt.Errorf("revoked at %s (seq %d): %w", deref(revokedAt), deref(prevSeq), store.ErrAlreadyRevoked)
		}
		if why != nil {
			return fmt.Errorf("postgres: %s: %w", op, &store.SerialError{Serial: serial, Err: why})
		}
		seen[serial] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return t.fail(op, err)
	}
	return fmt.Errorf("postgres: %s: batch refused but every serial is revocable: %w", op, store.ErrCorrupt)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
