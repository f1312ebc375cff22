package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/smki/smki/store"
)

var errTxDone = errors.New("postgres: transaction used after its Update or View returned")

type tx struct {
	ctx      context.Context
	q        *txConn
	writable bool
	// locking: an Urgent transaction (READ COMMITTED). Reads of single
	// rows lock them (FOR UPDATE), and checks that SERIALIZABLE would
	// make safe take explicit locks, so check-then-write holds.
	locking bool
	// urgent: an Urgent transaction (locking, not a queued Update).
	urgent bool
	done   bool
	batch  int // serials per RevokeMany statement
	// conflict is the first serialisation failure any statement hit. The
	// transaction is then aborted whatever fn does with the error, so
	// Update retries on it even if fn swallowed it.
	conflict error
	// broken is set when a statement has left a write half done that
	// cannot be undone (see RevokeMany): the transaction must not
	// commit, whatever fn does with the error.
	broken error
	// The revocation counter and the audit head, once this transaction
	// has locked their rows (see seq.go). Updating one row 100k times in a
	// transaction builds a 100k-long version chain that every UPDATE
	// walks, so they are advanced here and written once, before commit.
	rev   counter
	iss   counter
	audit auditHead
	// xid is the transaction's ID if a statement has returned it
	// (noteXID); otherwise run asks before COMMIT.
	xid *string
	// ahead holds what Prefetch read (nil: nothing): users and parties
	// until this transaction writes either table, officers until it
	// writes one, certificates (by key hash and by serial) until it
	// changes one other than by RecordIssued, which adds what it records,
	// records until it writes one. certGen and recordGen count those
	// writes, so that a read ahead still deferred when one is made is not
	// kept (see readAhead).
	ahead              *readAhead
	certGen, recordGen int
	// revGuard: this Update has share-locked the revocation counter's
	// row (see guardRevocation).
	revGuard bool
}

var _ store.Tx = (*tx)(nil)

func (t *tx) read() error {
	if t.done {
		return errTxDone
	}
	return nil
}

func (t *tx) write(op string) error {
	if err := t.read(); err != nil {
		return err
	}
	if !t.writable {
		return fmt.Errorf("postgres: %s in a View: %w", op, store.ErrReadOnly)
	}
	return nil
}

// lockRow is appended to a single-row SELECT: in an Urgent transaction
// (READ COMMITTED) the row is locked until commit, so what the caller
// checks in it still holds when it writes; SERIALIZABLE needs no lock.
func (t *tx) lockRow() string {
	if t.locking {
		return " FOR UPDATE"
	}
	return ""
}

// shareRow is lockRow for the directory rows whose status other
// transactions check before writing (parties, users): a read-write
// SERIALIZABLE transaction also takes a share lock, because SSI does not
// see a conflict with an Urgent (READ COMMITTED) transaction changing the
// row. So an issuance that checked the party active either commits before
// a SoLR approval marks the party failed (the approval waits for it, then
// lists the party's certificates with the new one), or fails with a
// serialisation error and, rerun, sees the party failed.
func (t *tx) shareRow() string {
	switch {
	case t.locking:
		return " FOR UPDATE"
	case t.writable:
		return " FOR SHARE"
	}
	return ""
}

// breakTx marks the transaction as unable to commit and returns err.
func (t *tx) breakTx(err error) error {
	if t.broken == nil {
		t.broken = err
	}
	return err
}

// fail wraps a database error with op. A unique violation that escaped
// ON CONFLICT is mapped to its store code by constraint.
func (t *tx) fail(op string, err error) error {
	if retryable(err) && t.conflict == nil {
		t.conflict = fmt.Errorf("postgres: %s: %w", op, err)
		if op == "issuance seq" || op == opRecordIssued || t.iss.locked {
			// An issuance (it has advanced, or tried to advance, the
			// counter): its retry queues (see errIssuanceRace).
			t.conflict = fmt.Errorf("%w: %w", errIssuanceRace, t.conflict)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		code := store.ErrExists
		switch pe.TableName {
		case "serials", "certificates", "intents":
			code = store.ErrDuplicateSerial
		case "key_owners":
			code = store.ErrDuplicateKey
		}
		return fmt.Errorf("postgres: %s: %w: %w", op, code, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

func (t *tx) exec(op, sql string, args ...any) (int64, error) {
	tag, err := t.q.Exec(t.ctx, sql, args...)
	if err != nil {
		return 0, t.fail(op, err)
	}
	return tag.RowsAffected(), nil
}

// one scans a single row, mapping no row to ErrNotFound.
func (t *tx) one(op string, row pgx.Row, dest ...any) error {
	err := row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	}
	if err != nil {
		return t.fail(op, err)
	}
	return nil
}

// timeLayout is fixed-width so that text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func ts(tm time.Time) string { return tm.UTC().Format(timeLayout) }

func parseTS(s string) (time.Time, error) {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("postgres: stored time %q: %w", s, store.ErrCorrupt)
	}
	return tm.UTC(), nil
}

// times parses pairs of (text, destination).
func times(pairs ...any) error {
	for i := 0; i < len(pairs); i += 2 {
		tm, err := parseTS(*pairs[i].(*string))
		if err != nil {
			return err
		}
		*pairs[i+1].(*time.Time) = tm
	}
	return nil
}

// limitArg turns a store limit (0: none) into a LIMIT parameter (NULL: none).
func limitArg(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// GetMeta returns the value under key, or ErrNotFound.
func (t *tx) GetMeta(key string) ([]byte, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	var v []byte
	err := t.one("meta "+key, t.q.QueryRow(t.ctx, "SELECT value FROM meta WHERE key = $1"+t.lockRow(), key), &v)
	if v == nil && err == nil {
		v = []byte{}
	}
	return v, err
}

// PutMeta stores value under a non-empty key.
func (t *tx) PutMeta(key string, value []byte) error {
	if err := t.write("put meta"); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("postgres: meta key is empty: %w", store.ErrInvalid)
	}
	if value == nil {
		value = []byte{}
	}
	// An upsert with no answer to read (txConn.Defer).
	t.q.Defer("put meta "+key, `INSERT INTO meta (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return nil
}
