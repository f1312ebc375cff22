package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// txConn is a transaction on a pooled connection that sends what must
// precede a statement in the statement's own round trip (one pipeline,
// one Sync), not in round trips of their own:
//
//   - BEGIN (and, for a queued issuance, its LOCK TABLE), with the
//     transaction's first statement (pgx's Batch.BeginTx). An issuance
//     group's transaction was BEGIN, two batch statements and COMMIT, so
//     the separate BEGIN was a quarter of its round trips, each a send and
//     a wakeup on both sides.
//
//   - The plan cache setting of the batch statements (generic plans, see
//     queryGeneric): set before the first of them and reset before the
//     next statement of any other kind, rather than set and reset around
//     each (a group's two batch statements run one after the other).
//
//   - Writes whose answer is only success or failure (Defer: an audit
//     entry appended, a counter written back), held until the
//     transaction's next round trip, another statement's or COMMIT's. An
//     RA issuance group appended its audit entries in a round trip of its
//     own between the records' statement and COMMIT, and a revocation
//     wrote its counter back in one before COMMIT.
//
//   - Reads made ahead (DeferRead, for Prefetch), held until the next
//     round trip too, or sent on their own when their answer is needed
//     first (FlushReads). A View whose first round trip is its read ahead
//     ends there, COMMIT in the same pipeline, and runs again if it reads
//     anything else (errReread).
//
// If a prefix statement fails, the server skips the rest of the pipeline,
// so nothing runs outside the transaction or under the wrong setting, and
// no statement runs after a deferred write that failed.
// Once begun, the transaction is pgx's own (Commit and Rollback are its);
// either returns the connection to the pool, which destroys one left in
// a transaction.
type txConn struct {
	c       *pgxpool.Conn
	opts    pgx.TxOptions
	lock    string // a statement to run right after BEGIN, or ""
	tx      pgx.Tx // nil until BEGIN is sent
	err     error  // a prefix's failure, returned by every later use
	generic bool   // plan_cache_mode is force_generic_plan (SET LOCAL)
	done    bool   // committed or rolled back: c released
	// deferred: statements not yet sent (Defer, DeferRead), in order.
	deferred []deferredStmt
	// endEarly: a View that may end with its read ahead (see FlushReads);
	// ended: it did, COMMIT went with the read ahead; reread: a statement
	// came after that, so the View must run again without endEarly.
	endEarly, ended, reread bool
}

// errReread is every statement's answer after a View ended with its read
// ahead (txConn.FlushReads): run has the View run again, in a
// transaction that stays open.
var errReread = errors.New("postgres: a View read past what it read ahead after ending with it; it runs again")

// deferredStmt is what Defer or DeferRead holds: b's statements, op to
// name them in an error, and (DeferRead) what reads their results.
type deferredStmt struct {
	op   string
	b    *pgx.Batch
	read func(pgx.BatchResults) error // nil: a write, each result checked
}

const (
	setGenericSQL   = "SET LOCAL plan_cache_mode = force_generic_plan"
	resetGenericSQL = "SET LOCAL plan_cache_mode TO DEFAULT"
)

func newTxConn(c *pgxpool.Conn, opts pgx.TxOptions, lock string) *txConn {
	return &txConn{c: c, opts: opts, lock: lock}
}

// begun reports whether BEGIN has been sent or a deferred write waits to
// be sent (then Commit begins the transaction with it). A deferred read
// alone does not count: nothing reads its answer, so it is not sent.
func (q *txConn) begun() bool { return q.tx != nil || q.writesDeferred() }

func (q *txConn) writesDeferred() bool {
	for _, d := range q.deferred {
		if d.read == nil {
			return true
		}
	}
	return false
}

// Defer queues a write whose answer is only whether it succeeded (no
// rows, no count the caller reads) to go with the transaction's next
// round trip: the next statement's, in front of it, or COMMIT's. Its
// failure is that statement's (or COMMIT's) error, wrapped with op, and
// fails the transaction, as its own round trip's would have. Statements
// run in the order they are sent or deferred.
func (q *txConn) Defer(op, sql string, args ...any) {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	q.deferred = append(q.deferred, deferredStmt{op: op, b: b})
}

// DeferRead queues b's reads to go with the transaction's next round trip,
// as Defer does a write: read is called with the results once they are
// sent and must read exactly b's (its error, wrapped with op, fails the
// transaction). FlushReads sends them at once, for a caller that needs
// the answer before any other statement.
func (q *txConn) DeferRead(op string, b *pgx.Batch, read func(pgx.BatchResults) error) {
	q.deferred = append(q.deferred, deferredStmt{op: op, b: b, read: read})
}

// FlushReads sends what is deferred, in a round trip of its own, if a
// read is among it (none otherwise), and returns the first failure: for
// a caller about to use a deferred read's answer.
//
// In a View that may end early (endEarly), when the read ahead is its
// first round trip, COMMIT goes in the same pipeline: a View that reads
// only what it read ahead (the RA's authentication and enrolment checks)
// takes one round trip, not two, with every read from one snapshot. A
// statement after that fails with errReread and marks the View (reread)
// to run again with a transaction that stays open, whatever fn made of
// the error.
func (q *txConn) FlushReads(ctx context.Context) error {
	if q.err != nil || !q.readsDeferred() {
		return q.err
	}
	b := &pgx.Batch{}
	end := q.endEarly && q.tx == nil
	if end {
		b.Queue("COMMIT")
	}
	br := q.send(ctx, b, q.generic)
	if end && q.err == nil {
		if _, err := br.Exec(); err != nil {
			br.Close()
			q.err = fmt.Errorf("commit: %w", err)
			return q.err
		}
		q.ended = true
	}
	return br.Close()
}

// DropReads forgets the deferred reads: once the transaction's function
// has returned, nothing will read their answers (and the locks they would
// take end with the transaction), so they are not sent with its last
// statements, where a failure to read an answer would fail a transaction
// that has committed.
func (q *txConn) DropReads() {
	kept := q.deferred[:0]
	for _, d := range q.deferred {
		if d.read == nil {
			kept = append(kept, d)
		}
	}
	q.deferred = kept
}

func (q *txConn) readsDeferred() bool {
	for _, d := range q.deferred {
		if d.read != nil {
			return true
		}
	}
	return false
}

// Conn is the underlying connection (no statement is sent).
func (q *txConn) Conn() *pgx.Conn { return q.c.Conn() }

// ready reports whether an ordinary statement can go as it is: begun,
// default plans, no failure, no deferred write waiting.
func (q *txConn) ready() bool {
	return q.tx != nil && !q.generic && q.err == nil && len(q.deferred) == 0 && !q.ended
}

// send sends b behind its prefix: BEGIN (and the lock) if the transaction
// has not begun, and the plan cache setting if it is not generic's (true:
// generic plans). The prefix's results are read here, so the caller
// reads b's alone.
func (q *txConn) send(ctx context.Context, b *pgx.Batch, generic bool) pgx.BatchResults {
	if q.ended {
		q.reread = true
		return errBatch{errReread}
	}
	if q.err != nil {
		return errBatch{q.err}
	}
	full := &pgx.Batch{}
	if q.tx == nil {
		full.BeginTx(q.opts)
		if q.lock != "" {
			full.Queue(q.lock)
		}
	}
	// What precedes b (BEGIN and the lock, then the deferred statements,
	// then the plan setting), and how each part's results are read.
	type part struct {
		n    int // statements
		op   string
		read func(pgx.BatchResults) error // nil: check each result
	}
	prefix := make([]part, 0, len(q.deferred)+3)
	for range full.QueuedQueries {
		prefix = append(prefix, part{n: 1})
	}
	for _, d := range q.deferred {
		full.QueuedQueries = append(full.QueuedQueries, d.b.QueuedQueries...)
		prefix = append(prefix, part{n: len(d.b.QueuedQueries), op: d.op, read: d.read})
	}
	q.deferred = nil
	if generic != q.generic {
		if generic {
			full.Queue(setGenericSQL)
		} else {
			full.Queue(resetGenericSQL)
		}
		prefix = append(prefix, part{n: 1})
		q.generic = generic
	}
	if len(prefix) == 0 {
		return q.tx.SendBatch(ctx, b)
	}
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	var br pgx.BatchResults
	if q.tx == nil {
		br = q.c.Conn().SendBatch(ctx, full)
		q.tx = br.Tx()
	} else {
		br = q.tx.SendBatch(ctx, full)
	}
	for _, d := range prefix {
		var err error
		if d.read != nil {
			err = d.read(br)
		} else {
			for range d.n {
				if _, err = br.Exec(); err != nil {
					break
				}
			}
		}
		if err != nil {
			br.Close()
			if d.op != "" {
				err = fmt.Errorf("%s: %w", d.op, err)
			}
			q.err = err
			return errBatch{err}
		}
	}
	return br
}

// ensure sends the prefix of an ordinary statement on its own, for a use
// that cannot go in a pipeline (Query, COPY).
func (q *txConn) ensure(ctx context.Context) error {
	if q.ready() || q.err != nil {
		return q.err
	}
	return q.send(ctx, &pgx.Batch{}, false).Close()
}

func (q *txConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if q.ready() {
		return q.tx.Exec(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := q.send(ctx, b, false)
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (q *txConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := q.ensure(ctx); err != nil {
		return nil, err
	}
	return q.tx.Query(ctx, sql, args...)
}

func (q *txConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if q.ready() {
		return q.tx.QueryRow(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := q.send(ctx, b, false)
	return &batchRow{br: br, row: br.QueryRow()}
}

// Commit commits the transaction (nothing to do if it never began) and
// releases the connection. Deferred writes go in COMMIT's round trip,
// ahead of it (BEGIN too if nothing else began the transaction): if one
// fails, the server skips COMMIT, Commit rolls back and returns its error.
// Deferred reads are the caller's to drop first (run does, DropReads).
func (q *txConn) Commit(ctx context.Context) error {
	if q.done {
		return pgx.ErrTxClosed
	}
	q.done = true
	defer q.c.Release()
	if q.ended {
		return nil // COMMIT went with the read ahead
	}
	switch {
	case q.err != nil:
		if q.tx != nil {
			q.tx.Rollback(ctx)
		}
		return q.err
	case len(q.deferred) == 0 && q.tx == nil:
		return nil
	case len(q.deferred) == 0:
		return q.tx.Commit(ctx)
	}
	b := &pgx.Batch{}
	b.Queue("COMMIT")
	br := q.send(ctx, b, q.generic)
	if q.err != nil {
		if q.tx != nil {
			q.tx.Rollback(ctx)
		}
		return q.err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// Rollback rolls back (a no-op after Commit) and releases the
// connection.
func (q *txConn) Rollback(ctx context.Context) error {
	if q.done {
		return pgx.ErrTxClosed
	}
	q.done = true
	defer q.c.Release()
	if q.tx == nil || q.ended {
		return nil
	}
	return q.tx.Rollback(ctx)
}

// batchRow is a QueryRow answered from a batch: Scan reads the row, then
// closes the batch (reporting the first error of either).
type batchRow struct {
	br  pgx.BatchResults
	row pgx.Row
}

func (r *batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil && cerr != nil && !errors.Is(cerr, pgx.ErrNoRows) {
		err = cerr
	}
	return err
}

// errBatch is a batch whose BEGIN failed: every result is the error.
type errBatch struct{ err error }

func (e errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, e.err }
func (e errBatch) Query() (pgx.Rows, error)         { return nil, e.err }
func (e errBatch) QueryRow() pgx.Row                { return errRow(e) }
func (e errBatch) Close() error                     { return e.err }
func (e errBatch) Tx() pgx.Tx                       { return nil }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
