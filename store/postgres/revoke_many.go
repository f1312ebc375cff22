package postgres

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// revokeBatch is how many serials one batch revokes (one check and one
// COPY): a party's 100,000 certificates in one, so that its statement
// count does not grow with its size; the bound keeps the serial array
// parameter (~35 bytes a serial) to a few megabytes.
const revokeBatch = 1 << 17

// revokeCheckSQL reads, for the serials in $1 (numbered 1, 2, ... in
// array order), the issuer, user and party of each one's certificate,
// grouped so that a party's 100,000 serials come back as a few rows of
// ordinals, leaving out any serial without a certificate or already
// revoked. The batch is revocable iff the ordinals number the whole list
// (RevokeMany has already refused a serial listed twice). Revokers
// serialise on the revocation counter, locked first, so no other
// transaction can revoke one of them between this statement and the COPY
// that follows it: a concurrent revocation has committed before this
// statement's snapshot (READ COMMITTED) or fails this transaction with a
// serialisation error on the counter (SERIALIZABLE), and the retry sees
// it revoked.
const revokeCheckSQL = `SELECT c.issuer, c.user_id, c.party_id, array_agg(i.ord)
FROM unnest($1::text[]) WITH ORDINALITY AS i(serial, ord)
JOIN certificates c ON c.serial = i.serial
WHERE NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = i.serial)
GROUP BY c.issuer, c.user_id, c.party_id`

// revokeCopySQL appends the batch's revocations, their revocation state
// (migrations 0006, 0007); the certificates' rows are left alone. COPY
// writes a heap page per WAL record where INSERT writes a row per record.
const revokeCopySQL = `COPY revocations (seq, serial, reason, revoked_at) FROM STDIN`

// RevokeMany revokes serials in order, in batches of the Store's batch
// size (revokeBatch), each one check and one COPY, plus one counter lock
// per transaction. A list of more than one batch runs under a savepoint, so
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
	t.dropCertificates()
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

// revokeBatch checks serials (at in UTC) with revokeCheckSQL, writes
// their revocations with revokeCopySQL numbered from the in-memory
// revocation counter, and advances it past them. A refused batch
// (a serial listed twice, unknown or revoked) writes nothing.
func (t *tx) revokeBatch(serials []string, reason int, at time.Time) ([]store.Revocation, error) {
	const op = "revoke many"
	seen := make(map[string]struct{}, len(serials))
	for _, s := range serials {
		if _, dup := seen[s]; dup {
			return nil, t.refusal(serials)
		}
		seen[s] = struct{}{}
	}
	rows, err := t.q.Query(t.ctx, revokeCheckSQL, serials)
	if err != nil {
		return nil, t.fail(op, err)
	}
	out := make([]store.Revocation, len(serials))
	n := 0
	for rows.Next() {
		var r store.Revocation
		var ords []int64
		if err := rows.Scan(&r.Issuer, &r.UserID, &r.PartyID, &ords); err != nil {
			rows.Close()
			return nil, t.fail(op, err)
		}
		for _, o := range ords {
			if o < 1 || o > int64(len(serials)) || out[o-1].Serial != "" {
				rows.Close()
				return nil, t.fail(op, fmt.Errorf("ordinal %d of %d read back twice or out of range: %w", o, len(serials), store.ErrCorrupt))
			}
			out[o-1] = r
			out[o-1].Serial = serials[o-1]
		}
		n += len(ords)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err)
	}
	if n != len(serials) {
		return nil, t.refusal(serials)
	}
	base := t.rev.value
	stamp := ts(at)
	buf := make([]byte, 0, len(serials)*(len(stamp)+64))
	for i := range out {
		r := &out[i]
		r.Seq, r.Reason, r.RevokedAt = uint64(base)+uint64(i)+1, reason, at
		// COPY text format: serials are lower-case hex (check.Serial) and
		// the time is ts's fixed layout, so nothing needs escaping.
		buf = strconv.AppendUint(buf, r.Seq, 10)
		buf = append(buf, '\t')
		buf = append(buf, r.Serial...)
		buf = append(buf, '\t')
		buf = strconv.AppendInt(buf, int64(reason), 10)
		buf = append(buf, '\t')
		buf = append(buf, stamp...)
		buf = append(buf, '\n')
	}
	if err := t.q.ensure(t.ctx); err != nil {
		return nil, t.fail(op, err)
	}
	tag, err := t.q.Conn().PgConn().CopyFrom(t.ctx, bytes.NewReader(buf), revokeCopySQL)
	if err != nil {
		// The COPY failed part way: the transaction is aborted.
		return nil, t.fail(op, err)
	}
	if tag.RowsAffected() != int64(len(serials)) {
		return nil, t.breakTx(fmt.Errorf("postgres: %s: %d of %d serials revoked: %w", op, tag.RowsAffected(), len(serials), store.ErrCorrupt))
	}
	t.rev.value += int64(len(serials))
	t.rev.dirty = true
	return out, nil
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
