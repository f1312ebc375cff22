package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// CreateIntent claims the serial in serials (primary key) and records the
// intent. A serial already claimed, by an intent or a certificate, fails
// with ErrDuplicateSerial and writes nothing.
func (t *tx) CreateIntent(in store.Intent) error {
	if err := t.write("create intent"); err != nil {
		return err
	}
	in, err := check.Intent(in)
	if err != nil {
		return fmt.Errorf("postgres: create intent: %w", err)
	}
	// One statement (one round trip of an issuance's intent transaction):
	// the intent row is inserted only if the serial was claimed.
	n, err := t.exec("create intent "+in.Serial, `WITH s AS (INSERT INTO serials (serial) VALUES ($1) ON CONFLICT DO NOTHING RETURNING serial)
		INSERT INTO intents (serial, issuer, profile, user_id, lint_der, created_at, state)
		SELECT serial, $2, $3, $4, $5, $6, $7 FROM s`,
		in.Serial, in.Issuer, in.Profile, in.UserID, in.LintDER, ts(in.CreatedAt), string(in.State))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("postgres: create intent %s: %w", in.Serial, store.ErrDuplicateSerial)
	}
	return nil
}

const intentCols = "serial, issuer, profile, user_id, lint_der, created_at, state"

func scanIntent(row pgx.Row, in *store.Intent) error {
	var created, state string
	if err := row.Scan(&in.Serial, &in.Issuer, &in.Profile, &in.UserID, &in.LintDER, &created, &state); err != nil {
		return err
	}
	in.State = store.IntentState(state)
	return times(&created, &in.CreatedAt)
}

// GetIntent returns the intent for serial, or ErrNotFound.
func (t *tx) GetIntent(serial string) (store.Intent, error) {
	var in store.Intent
	if err := t.read(); err != nil {
		return in, err
	}
	row := t.q.QueryRow(t.ctx, "SELECT "+intentCols+" FROM intents WHERE serial = $1"+t.lockRow(), serial)
	if err := scanIntent(row, &in); err != nil {
		return store.Intent{}, t.notFound("intent "+serial, err)
	}
	return in, nil
}

// notFound maps pgx.ErrNoRows to ErrNotFound, other errors through fail.
func (t *tx) notFound(op string, err error) error {
	if err == pgx.ErrNoRows {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	}
	return t.fail(op, err)
}

// SetIntentState changes an existing intent's state (ErrNotFound).
func (t *tx) SetIntentState(serial string, state store.IntentState) error {
	if err := t.write("set intent state"); err != nil {
		return err
	}
	if err := check.IntentState(state); err != nil {
		return fmt.Errorf("postgres: set intent %s: %w", serial, err)
	}
	n, err := t.exec("set intent "+serial, "UPDATE intents SET state = $2 WHERE serial = $1", serial, string(state))
	if err == nil && n == 0 {
		err = fmt.Errorf("postgres: set intent %s: %w", serial, store.ErrNotFound)
	}
	return err
}

// OpenIntents returns every open intent, by serial (partial index).
func (t *tx) OpenIntents() ([]store.Intent, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	return queryAll(t, "open intents", scanIntent,
		"SELECT "+intentCols+" FROM intents WHERE state = 'open' ORDER BY serial")
}

// queryAll runs a query and scans every row with scan. Rows are scanned
// into chunks and copied once into a slice of the final length: growing
// one slice by appending copied a party's 100,000 certificates (~27 MB)
// about twice over and cost more CPU than scanning them.
func queryAll[T any](t *tx, op string, scan func(pgx.Row, *T) error, sql string, args ...any) ([]T, error) {
	rows, err := t.q.Query(t.ctx, sql, args...)
	if err != nil {
		return nil, t.fail(op, err)
	}
	defer rows.Close()
	const chunk = 1024
	var full [][]T
	cur := make([]T, 0, 16)
	for rows.Next() {
		if len(cur) == cap(cur) {
			if cap(cur) < chunk {
				grown := make([]T, len(cur), min(2*cap(cur), chunk))
				copy(grown, cur)
				cur = grown
			} else {
				full = append(full, cur)
				cur = make([]T, 0, chunk)
			}
		}
		cur = cur[:len(cur)+1]
		if err := scan(rows, &cur[len(cur)-1]); err != nil {
			return nil, t.fail(op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err)
	}
	if len(full) == 0 {
		if len(cur) == 0 {
			return nil, nil
		}
		return cur, nil
	}
	out := make([]T, 0, len(full)*chunk+len(cur))
	for _, c := range full {
		out = append(out, c...)
	}
	return append(out, cur...), nil
}

// PutCertificate inserts c. A refused certificate leaves nothing: one
// statement checks the key's owner and inserts only if it is c's user,
// the certificate row with ON CONFLICT DO NOTHING (putCertificateSQL). A concurrent
// insert of the same serial or key surfaces as a serialisation failure,
// and the retry sees it and refuses.
func (t *tx) PutCertificate(c store.Certificate) error {
	if err := t.write("put certificate"); err != nil {
		return err
	}
	c, err := check.Certificate(c)
	if err != nil {
		return fmt.Errorf("postgres: put certificate: %w", err)
	}
	op := "put certificate " + c.Serial
	t.dropCertificates()
	if c.KeyHash != "" && t.locking {
		// Two puts of one key for two users must not both pass the
		// check below; SERIALIZABLE fails one of them, here a
		// transaction-scoped lock on the key queues the second.
		if _, err := t.exec(op, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", c.KeyHash); err != nil {
			return err
		}
	}
	seq, err := t.nextIssuanceSeq()
	if err != nil {
		return err
	}
	// One round trip: the key's owner checked, the serial claimed (if no
	// intent claimed it), the certificate row and its key's owner
	// inserted, each insert only if the key is not another user's, the
	// owner row only if the certificate row went in (none: its serial was
	// taken).
	var other *string
	var n int64
	if err := t.q.QueryRow(t.ctx, putCertificateSQL,
		c.Serial, c.Issuer, c.UserID, c.PartyID, c.Profile, c.Role, c.KeyHash,
		ts(c.NotBefore), ts(c.NotAfter), ts(c.IssuedAt), c.DER, seq).Scan(&other, &n); err != nil {
		return t.fail(op, err)
	}
	if other != nil || n == 0 {
		// Nothing went in: the number goes back, so the sequence stays
		// gap-free if the caller carries on and commits.
		t.iss.value--
		t.iss.dirty = true
	}
	if other != nil {
		return fmt.Errorf("postgres: %s: key %s is certified for user %q: %w", op, c.KeyHash, *other, store.ErrDuplicateKey)
	}
	if n == 0 {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrDuplicateSerial)
	}
	return nil
}

// putCertificateSQL is PutCertificate's statement. Its inserts run only
// if o (the key certified for another user) is empty, and all of its
// sub-statements see one snapshot, so the certificates insert, which
// also claims nothing twice (ON CONFLICT), reports a taken serial as no
// row. The first column is the other user, if any; the second, 1 if the
// certificate went in.
const putCertificateSQL = `WITH o AS (SELECT user_id FROM key_owners WHERE $7::text <> '' AND key_hash = $7 AND user_id <> $3),
	s AS (INSERT INTO serials (serial) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM o) ON CONFLICT DO NOTHING),
	c AS (INSERT INTO certificates (serial, issuer, user_id, party_id, profile, role, key_hash,
		not_before, not_after, issued_at, der, issuance_seq)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::bytea, $12::bigint WHERE NOT EXISTS (SELECT 1 FROM o)
		ON CONFLICT DO NOTHING RETURNING key_hash, user_id),
	k AS (INSERT INTO key_owners (key_hash, user_id) SELECT key_hash, user_id FROM c WHERE key_hash <> '' ON CONFLICT DO NOTHING)
	SELECT (SELECT user_id FROM o LIMIT 1), (SELECT count(*) FROM c)`

// certFrom is where a certificate is read from: its row and, if it is
// revoked, its revocation's (the revocation state lives there only; see
// migration 0006). certCols are the columns scanCert reads from it.
const (
	certFrom = `certificates c LEFT JOIN revocations r ON r.serial = c.serial`
	certCols = `c.serial, c.issuer, c.user_id, c.party_id, c.profile, c.role, c.key_hash, c.not_before, c.not_after, c.issued_at,
	c.der, r.revoked_at, r.reason, r.seq, c.issuance_seq`
)

func scanCert(row pgx.Row, c *store.Certificate) error {
	var nb, na, ia string
	var ra *string
	var reason, seq *int64
	var iss int64
	if err := row.Scan(&c.Serial, &c.Issuer, &c.UserID, &c.PartyID, &c.Profile, &c.Role, &c.KeyHash,
		&nb, &na, &ia, &c.DER, &ra, &reason, &seq, &iss); err != nil {
		return err
	}
	c.Status, c.IssuanceSeq = store.StatusGood, uint64(iss)
	if seq != nil {
		c.Status, c.RevocationSeq, c.Reason = store.StatusRevoked, uint64(*seq), int(deref(reason))
		if err := times(ra, &c.RevokedAt); err != nil {
			return err
		}
	}
	return times(&nb, &c.NotBefore, &na, &c.NotAfter, &ia, &c.IssuedAt)
}

// GetCertificate returns the certificate for serial, or ErrNotFound.
func (t *tx) GetCertificate(serial string) (store.Certificate, error) {
	var c store.Certificate
	if err := t.read(); err != nil {
		return c, err
	}
	if c, found, absent := t.aheadNow().cert(serial); found || absent {
		if absent {
			return c, t.notFound("certificate "+serial, pgx.ErrNoRows)
		}
		return c, nil
	}
	t.guardRevocation(nil)
	lock := ""
	if t.locking {
		lock = " FOR UPDATE OF c"
	}
	if err := scanCert(t.q.QueryRow(t.ctx, "SELECT "+certCols+" FROM "+certFrom+" WHERE c.serial = $1"+lock, serial), &c); err != nil {
		return store.Certificate{}, t.notFound("certificate "+serial, err)
	}
	return c, nil
}

// ListCertificates filters on the set fields, by serial; PostgreSQL's
// planner picks the most selective of the (field, serial) indexes.
func (t *tx) ListCertificates(f store.CertFilter) ([]store.Certificate, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := check.Limit(f.Limit); err != nil {
		return nil, fmt.Errorf("postgres: list certificates: %w", err)
	}
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{
		{"c.issuer", f.Issuer}, {"c.user_id", f.UserID}, {"c.party_id", f.PartyID}, {"c.role", f.Role},
	} {
		if c.v != "" {
			args = append(args, c.v)
			where = append(where, fmt.Sprintf("%s = $%d", c.col, len(args)))
		}
	}
	switch f.Status {
	case "":
	case store.StatusGood:
		where = append(where, "r.seq IS NULL") // an anti-join
	case store.StatusRevoked:
		where = append(where, "r.seq IS NOT NULL")
	default:
		where = append(where, "false")
	}
	if f.After != "" {
		args = append(args, f.After)
		where = append(where, fmt.Sprintf("c.serial > $%d", len(args)))
	}
	sql := "SELECT " + certCols + " FROM " + certFrom
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limitArg(f.Limit))
	sql += fmt.Sprintf(" ORDER BY c.serial LIMIT $%d", len(args))
	return queryAll(t, "list certificates", scanCert, sql, args...)
}

// CertificatesByKey returns every certificate for keyHash, by serial.
func (t *tx) CertificatesByKey(keyHash string) ([]store.Certificate, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if keyHash == "" {
		return nil, fmt.Errorf("postgres: certificates by key: empty key hash: %w", store.ErrInvalid)
	}
	if cs, ok := t.aheadNow().certsByKey(keyHash); ok {
		return cs, nil
	}
	return queryAll(t, "certificates by key", scanCert, certsByKeySQL, keyHash)
}

// certsByKeySQL lists the certificates of key hash $1 (CertificatesByKey).
var certsByKeySQL = "SELECT " + certCols + " FROM " + certFrom + " WHERE c.user_id = (SELECT user_id FROM key_owners WHERE key_hash = $1) AND c.key_hash = $1 ORDER BY c.serial"

// IssuanceSeq returns the latest issuance sequence number (0 if none).
func (t *tx) IssuanceSeq() (uint64, error) {
	if err := t.read(); err != nil {
		return 0, err
	}
	if t.iss.locked {
		return uint64(t.iss.value), nil
	}
	var v int64
	if err := t.one("issuance seq", t.q.QueryRow(t.ctx, "SELECT value FROM counters WHERE name = 'issuance'"), &v); err != nil {
		return 0, err
	}
	return uint64(v), nil
}

// CertificatesIssuedSince reads the issuance_seq index from since+1.
func (t *tx) CertificatesIssuedSince(since uint64, limit int) ([]store.Certificate, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := check.Limit(limit); err != nil {
		return nil, fmt.Errorf("postgres: certificates issued since %d: %w", since, err)
	}
	if since >= 1<<63-1 {
		return nil, nil
	}
	return queryAll(t, "certificates issued since", scanCert,
		"SELECT "+certCols+" FROM "+certFrom+" WHERE c.issuance_seq > $1 ORDER BY c.issuance_seq LIMIT $2", int64(since), limitArg(limit))
}
