package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// store.IssueWriter: a group of issuances' intents, or their records, in
// one statement each (one round trip and one plan per group, not two or
// three per issuance). Each statement is written so that a refused row
// writes nothing and is reported on its own row of the result, so one
// bad item never fails its neighbours; the statements read every table
// by index, row by row (scalar subqueries, never EXISTS or IN over a
// table, which the planner may hash over a sequential scan), so
// SERIALIZABLE's predicate locks stay on the rows read, as the single-row
// methods' do.

var _ store.IssueWriter = (*tx)(nil)

// createIntentsSQL: for each row (in order, n), the other user who owns
// its key (key_owners) and that user's lowest serial for it (by
// certificates_user), and whether its serial is taken; then the serial
// claimed and the intent inserted only if neither; the result says which
// went in. The inserts have no ON CONFLICT (a probe of the unique index
// before each row and an extra WAL record): the statement has read what
// would conflict, so only a concurrent transaction can, and then the
// statement fails as a whole (see the Grouper's reruns). The transaction
// ID is read after the inserts (the count of w runs them first: a
// data-modifying CTE no one reads runs after the main query), so that
// the group's COMMIT needs no round trip to ask for it.
const createIntentsSQL = `WITH i AS (
	SELECT u.*, o.user_id AS other_user, o.serial AS other_serial,
		(SELECT 1 FROM serials x WHERE x.serial = u.serial) IS NOT NULL AS taken
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[], $7::text[])
		WITH ORDINALITY AS u(serial, issuer, profile, user_id, lint_der, created_at, key_hash, n)
	LEFT JOIN LATERAL (SELECT ko.user_id, (SELECT min(c.serial) FROM certificates c
			WHERE c.user_id = ko.user_id AND c.key_hash = u.key_hash) AS serial
		FROM key_owners ko WHERE u.key_hash <> '' AND ko.key_hash = u.key_hash AND ko.user_id <> u.user_id) o ON true),
s AS (INSERT INTO serials (serial) SELECT serial FROM i WHERE other_user IS NULL AND NOT taken),
w AS (INSERT INTO intents (serial, issuer, profile, user_id, lint_der, created_at, state)
	SELECT serial, issuer, profile, user_id, lint_der, created_at, 'open' FROM i WHERE other_user IS NULL AND NOT taken
	RETURNING 1)
SELECT n, other_user, other_serial, other_user IS NULL AND NOT taken,
	CASE WHEN (SELECT count(*) FROM w) >= 0 THEN pg_current_xact_id_if_assigned()::text END FROM i ORDER BY n`

// CreateIntents creates a group's intents in one statement (see
// store.CreateIntents).
func (t *tx) CreateIntents(ins []store.NewIntent) ([]error, error) {
	if err := t.write("create intents"); err != nil {
		return nil, err
	}
	st, errs := t.intentsStmt(ins)
	if st == nil {
		return errs, nil
	}
	if err := t.queryGeneric(st); err != nil {
		return nil, err
	}
	if err := st.done(); err != nil {
		return nil, err
	}
	return errs, nil
}

// stmt is a batch statement with what reads its answer: row is called
// for each result row, scanned into dest; done checks the answer as a
// whole once every row is read.
type stmt struct {
	op, sql string
	args    []any
	dest    []any
	row     func() error
	done    func() error
}

// intentsStmt makes createIntentsSQL for ins, with errs holding the
// refusals found before it runs (and, once it has run, the rest). It is
// nil if no item is left to write.
func (t *tx) intentsStmt(ins []store.NewIntent) (*stmt, []error) {
	errs := make([]error, len(ins))
	var at []int
	var serial, issuer, profile, user, created, key []string
	var lint [][]byte
	seen := make(map[string]bool, len(ins))
	for i, n := range ins {
		in, err := check.Intent(n.Intent)
		switch {
		case err != nil:
			errs[i] = fmt.Errorf("postgres: create intent: %w", err)
			continue
		case seen[in.Serial]:
			errs[i] = fmt.Errorf("postgres: create intent %s: %w", in.Serial, store.ErrDuplicateSerial)
			continue
		}
		seen[in.Serial] = true
		at = append(at, i)
		serial, issuer, profile, user = append(serial, in.Serial), append(issuer, in.Issuer), append(profile, in.Profile), append(user, in.UserID)
		lint, created, key = append(lint, in.LintDER), append(created, ts(in.CreatedAt)), append(key, n.KeyHash)
	}
	if len(at) == 0 {
		return nil, errs
	}
	const op = "create intents"
	got := 0
	var n int64
	var otherUser, otherSerial, xid *string
	var ok bool
	return &stmt{op: op, sql: createIntentsSQL, args: []any{serial, issuer, profile, user, lint, created, key},
		dest: []any{&n, &otherUser, &otherSerial, &ok, &xid},
		row: func() error {
			if n < 1 || int(n) > len(at) {
				return t.breakTx(fmt.Errorf("postgres: %s: row %d of %d: %w", op, n, len(at), store.ErrCorrupt))
			}
			i := at[n-1]
			switch {
			case otherUser != nil:
				ku := &store.KeyInUseError{KeyHash: key[n-1], UserID: *otherUser}
				if otherSerial != nil {
					ku.Serial = *otherSerial
				}
				errs[i] = fmt.Errorf("postgres: create intent %s: %w", serial[n-1], ku)
			case !ok:
				errs[i] = fmt.Errorf("postgres: create intent %s: %w", serial[n-1], store.ErrDuplicateSerial)
			}
			got++
			return nil
		},
		done: func() error {
			t.noteXID(xid)
			if got != len(at) {
				return t.breakTx(fmt.Errorf("postgres: %s: %d rows for %d intents: %w", op, got, len(at), store.ErrCorrupt))
			}
			return nil
		}}, errs
}

// opRecordIssued is RecordIssued's operation name; a serialisation
// failure in it is an issuance race (see errIssuanceRace), as one in
// PutCertificate's counter is.
const opRecordIssued = "record issued"

// recordIssuedSQL: for each row (in order, n), its intent's state, the
// other user its key is certified for (if any) and whether its serial has
// a certificate, read row by row; the rows that pass (ok) are numbered
// from the issuance counter, advanced once by their count (behind
// issuance_lock, as issuanceSeqSQL), inserted with their key's owner, and
// their intents completed. The result: each row's findings, whether it
// went in, and the counter's value before the group (NULL if none went
// in). As in createIntentsSQL, no insert has ON CONFLICT: a row goes in
// only if its reads found no conflict. $12 is the counter's value as this transaction left it, if it has
// advanced it in memory (NULL: not). The intents are completed by a join
// to c (an index lookup per row): as serial = ANY (ARRAY(...)) the generic
// plan scanned the whole of intents, a cost growing with the table and
// under SERIALIZABLE a predicate lock on the whole relation, which every
// other instance's new intent then conflicted with.
const recordIssuedSQL = `WITH i AS (
	SELECT u.*,
		(SELECT it.state FROM intents it WHERE it.serial = u.serial) AS state,
		(SELECT ko.user_id FROM key_owners ko WHERE u.key_hash <> '' AND ko.key_hash = u.key_hash) AS owner,
		(SELECT 1 FROM certificates c WHERE c.serial = u.serial) IS NOT NULL AS dup
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bytea[])
		WITH ORDINALITY AS u(serial, issuer, user_id, party_id, profile, role, key_hash, not_before, not_after, issued_at, der, n)),
ok AS (SELECT i.*, row_number() OVER (ORDER BY n) AS r FROM i WHERE state = 'open' AND (owner IS NULL OR owner = user_id) AND NOT dup),
seq AS (UPDATE counters SET value = coalesce($12::bigint, value) + (SELECT count(*) FROM ok)
	WHERE name = 'issuance' AND EXISTS (SELECT 1 FROM ok)
		AND (SELECT count(*) FROM (SELECT 1 FROM issuance_lock FOR SHARE) q) >= 0
	RETURNING value - (SELECT count(*) FROM ok) AS base),
c AS (INSERT INTO certificates (serial, issuer, user_id, party_id, profile, role, key_hash,
		not_before, not_after, issued_at, der, issuance_seq)
	SELECT serial, issuer, user_id, party_id, profile, role, key_hash, not_before, not_after, issued_at, der,
		(SELECT base FROM seq) + r FROM ok ORDER BY n
	RETURNING serial),
k AS (INSERT INTO key_owners (key_hash, user_id) SELECT DISTINCT key_hash, user_id FROM ok WHERE key_hash <> '' AND owner IS NULL),
d AS (UPDATE intents it SET state = 'completed' FROM c WHERE it.serial = c.serial)
SELECT n, state, nullif(owner, user_id), dup, serial IN (SELECT serial FROM c), (SELECT base FROM seq),
	pg_current_xact_id_if_assigned()::text FROM i ORDER BY n`

// RecordIssued records a group's certificates and completes their
// intents in one statement (see store.RecordIssued). Items that would
// conflict with an earlier item of the group (same serial, or same key
// for another user) go to a later statement, where the earlier one's
// row is seen.
func (t *tx) RecordIssued(certs []store.Certificate) ([]error, error) {
	if err := t.write(opRecordIssued); err != nil {
		return nil, err
	}
	errs := make([]error, len(certs))
	if err := t.recordRounds(certs, checkCerts(certs, errs), errs); err != nil {
		return nil, err
	}
	return errs, nil
}

// WriteIssuance writes a group's intents and records (see
// store.WriteIssuance) with the intents' statement and the records' first
// in one round trip: the server runs them one after the other, as two
// calls would. A locking (READ COMMITTED) transaction takes its locks
// before the records' statement, so it makes the two calls.
func (t *tx) WriteIssuance(ins []store.NewIntent, certs []store.Certificate) (insErrs, certErrs []error, err error) {
	if len(ins) == 0 || len(certs) == 0 || t.locking {
		return store.WriteIssuanceEach(t, ins, certs)
	}
	if err := t.write("write issuance"); err != nil {
		return nil, nil, err
	}
	is, insErrs := t.intentsStmt(ins)
	certErrs = make([]error, len(certs))
	now, later := splitRound(certs, checkCerts(certs, certErrs))
	var rs *stmt
	if len(now) > 0 {
		rs = t.recordStmt(certs, now, certErrs)
	}
	var sts []*stmt
	for _, st := range []*stmt{is, rs} {
		if st != nil {
			sts = append(sts, st)
		}
	}
	if len(sts) > 0 {
		if err := t.queryGeneric(sts...); err != nil {
			return nil, nil, err
		}
	}
	for _, st := range sts {
		if err := st.done(); err != nil {
			return nil, nil, err
		}
	}
	if err := t.recordRounds(certs, later, certErrs); err != nil {
		return nil, nil, err
	}
	return insErrs, certErrs, nil
}

// checkCerts checks each certificate (refusals into errs) and returns the
// indexes of those that pass; certs holds them as checked.
func checkCerts(certs []store.Certificate, errs []error) []int {
	var ok []int
	for i := range certs {
		c, err := check.Certificate(certs[i])
		if err != nil {
			errs[i] = fmt.Errorf("postgres: record certificate: %w", err)
			continue
		}
		certs[i] = c
		ok = append(ok, i)
	}
	return ok
}

// splitRound takes from round the items that conflict with no earlier
// item of it (now) and leaves the rest for a later statement.
func splitRound(certs []store.Certificate, round []int) (now, later []int) {
	serials := make(map[string]bool, len(round))
	keys := make(map[string]string, len(round))
	for _, i := range round {
		c := certs[i]
		if u, ok := keys[c.KeyHash]; serials[c.Serial] || ok && u != c.UserID {
			later = append(later, i)
			continue
		}
		serials[c.Serial] = true
		if c.KeyHash != "" {
			keys[c.KeyHash] = c.UserID
		}
		now = append(now, i)
	}
	return now, later
}

// recordRounds records certs[round...] in as many statements as their
// conflicts need.
func (t *tx) recordRounds(certs []store.Certificate, round []int, errs []error) error {
	for len(round) > 0 {
		now, later := splitRound(certs, round)
		if err := t.recordRound(certs, now, errs); err != nil {
			return err
		}
		round = later
	}
	return nil
}

// recordRound runs recordIssuedSQL for certs[at...], which share no
// serial and no key between users.
func (t *tx) recordRound(certs []store.Certificate, at []int, errs []error) error {
	op := opRecordIssued
	if t.locking {
		// READ COMMITTED: lock what the statement checks, as GetIntent
		// and PutCertificate do (the intents' rows; the keys, in a fixed
		// order so that two groups cannot deadlock), so that it still
		// holds when the statement's snapshot is taken.
		serial, key := make([]string, len(at)), make([]string, len(at))
		for j, i := range at {
			serial[j], key[j] = certs[i].Serial, certs[i].KeyHash
		}
		if _, err := t.exec(op, "SELECT 1 FROM intents WHERE serial = ANY ($1::text[]) ORDER BY serial FOR UPDATE", serial); err != nil {
			return err
		}
		if _, err := t.exec(op, `SELECT pg_advisory_xact_lock(h) FROM
			(SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) k WHERE k <> '') q ORDER BY h`, key); err != nil {
			return err
		}
	}
	st := t.recordStmt(certs, at, errs)
	if err := t.queryGeneric(st); err != nil {
		return err
	}
	return st.done()
}

// recordStmt makes recordIssuedSQL for certs[at...] (no locks taken): its
// answers go to errs, and done advances the transaction's issuance
// counter by the certificates recorded.
func (t *tx) recordStmt(certs []store.Certificate, at []int, errs []error) *stmt {
	op := opRecordIssued
	n := len(at)
	serial, issuer, user, party := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	profile, role, key := make([]string, n), make([]string, n), make([]string, n)
	nb, na, ia := make([]string, n), make([]string, n), make([]string, n)
	der := make([][]byte, n)
	for j, i := range at {
		c := certs[i]
		serial[j], issuer[j], user[j], party[j] = c.Serial, c.Issuer, c.UserID, c.PartyID
		profile[j], role[j], key[j] = c.Profile, c.Role, c.KeyHash
		nb[j], na[j], ia[j], der[j] = ts(c.NotBefore), ts(c.NotAfter), ts(c.IssuedAt), c.DER
	}
	var cur *int64
	if t.iss.locked {
		// The counter's row holds what this transaction last wrote;
		// later numbers it counted in memory continue from t.iss.value.
		v := t.iss.value
		cur = &v
	}
	got, inserted := 0, int64(0)
	var base *int64
	var k int64
	var state, other, xid *string
	var dup, in bool
	return &stmt{op: op, sql: recordIssuedSQL, args: []any{serial, issuer, user, party, profile, role, key, nb, na, ia, der, cur},
		dest: []any{&k, &state, &other, &dup, &in, &base, &xid},
		row: func() error {
			if k < 1 || int(k) > n {
				return t.breakTx(fmt.Errorf("postgres: %s: row %d of %d: %w", op, k, n, store.ErrCorrupt))
			}
			s := serial[k-1]
			e := &errs[at[k-1]]
			switch {
			case state == nil:
				*e = fmt.Errorf("postgres: record certificate %s: intent: %w", s, store.ErrNotFound)
			case *state != string(store.IntentOpen):
				*e = fmt.Errorf("postgres: record certificate %s: %w", s, &store.IntentNotOpenError{Serial: s, State: store.IntentState(*state)})
			case other != nil:
				*e = fmt.Errorf("postgres: record certificate %s: key %s is certified for user %q: %w", s, key[k-1], *other, store.ErrDuplicateKey)
			case dup:
				*e = fmt.Errorf("postgres: record certificate %s: %w", s, store.ErrDuplicateSerial)
			case !in:
				// Not inserted although it passed its checks (a
				// conflict fails the statement, so this should not
				// happen): its number was counted, so the group must
				// not commit.
				return t.breakTx(fmt.Errorf("postgres: record certificate %s: inserted concurrently: %w", s, store.ErrConflict))
			default:
				inserted++
				if base != nil {
					c := certs[at[k-1]]
					c.Status, c.IssuanceSeq = store.StatusGood, uint64(*base+inserted)
					t.recorded(c)
				}
			}
			got++
			return nil
		},
		done: func() error {
			t.noteXID(xid)
			if got != n {
				return t.breakTx(fmt.Errorf("postgres: %s: %d rows for %d certificates: %w", op, got, n, store.ErrCorrupt))
			}
			if inserted > 0 {
				if base == nil {
					return t.breakTx(fmt.Errorf("postgres: %s: issuance counter not advanced: %w", op, store.ErrCorrupt))
				}
				// The row now holds the group's last number.
				t.iss = counter{locked: true, value: *base + inserted}
			}
			return nil
		}}
}

// queryGeneric runs the statements in one round trip, one after the
// other, and calls each one's row for each of its result rows, scanned
// into its dest, with PostgreSQL's plan cache held to the statements'
// generic plans: the batch statements' custom plans (PostgreSQL keeps
// choosing them, as their estimates for a few array elements look
// cheaper than the generic plan's) were re-planned at every execution, a
// third of the database's CPU per issuance. The setting (SET LOCAL) goes
// in the same round trip, and is reset in that of the next statement of
// another kind (txConn), so the rest of the transaction plans as by
// default. If a statement fails, the server skips the rest.
func (t *tx) queryGeneric(sts ...*stmt) error {
	b := &pgx.Batch{}
	for _, st := range sts {
		b.Queue(st.sql, st.args...)
	}
	br := t.q.send(t.ctx, b, true)
	defer br.Close()
	for _, st := range sts {
		rows, err := br.Query()
		if err != nil {
			return t.fail(st.op, err)
		}
		for rows.Next() {
			if err := rows.Scan(st.dest...); err != nil {
				rows.Close()
				return t.fail(st.op, err)
			}
			if err := st.row(); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return t.fail(st.op, err)
		}
	}
	if err := br.Close(); err != nil {
		return t.fail(sts[len(sts)-1].op, err)
	}
	return nil
}

// noteXID keeps the transaction's ID once a statement has returned it, so
// that run need not ask for it before COMMIT (a round trip per group).
func (t *tx) noteXID(xid *string) {
	if xid != nil {
		t.xid = xid
	}
}
