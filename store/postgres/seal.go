package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// The audit log without a hot row. AppendAudit (in any transaction) and
// Audit (group-committed, outside one) only INSERT into audit_pending,
// whose ids come from a sequence: no row is locked, so no writer waits for
// or conflicts with another over the audit log, whatever the isolation
// level. The sealer then does what a transparency log's integrate step
// does: one transaction at a time, holding the audit_head row lock, takes
// the committed pending rows in id order, gives each the next Seq and
// its chain hashes, inserts it into audit, deletes it from audit_pending
// and moves the head. The sealer runs at READ COMMITTED: only sealers
// (and the importer) touch audit_head, so its row lock alone orders them.
//
// The chain's order is seal order: a pending row whose transaction
// commits after a later id was sealed is sealed in the next pass, after
// it. Every Store seals every seal delay, and SealAudit seals on demand
// (before the RA reads the chain head for a bundle, before a verify).

// sealBatch is how many pending entries one seal transaction chains.
const sealBatch = 2000

// auditInsertSQL appends pending entries from parallel arrays.
const auditInsertSQL = `INSERT INTO audit_pending (time, actor, action, subject, result, detail)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`

// AppendAudit records e as pending, with this transaction: it is chained
// when sealed, so the returned entry has Seq 0. The INSERT goes with the
// transaction's next round trip (txConn.Defer).
func (t *tx) AppendAudit(e store.AuditEntry) (store.AuditEntry, error) {
	if err := t.write("append audit"); err != nil {
		return store.AuditEntry{}, err
	}
	e, err := check.Audit(e)
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("postgres: append audit: %w", err)
	}
	e.Seq, e.PrevHash, e.Hash = 0, nil, nil
	t.q.Defer("append audit", `INSERT INTO audit_pending (time, actor, action, subject, result, detail)
		VALUES ($1, $2, $3, $4, $5, $6)`, ts(e.Time), e.Actor, e.Action, e.Subject, e.Result, e.Detail)
	return e, nil
}

// AppendAudits records es as pending, in order, with this transaction,
// in one statement (see store.AppendAudits): a group of issuances
// through the RA appends one entry per certificate. The INSERT goes with
// the transaction's next round trip, COMMIT's for such a group
// (txConn.Defer).
func (t *tx) AppendAudits(es []store.AuditEntry) error {
	if err := t.write("append audit"); err != nil {
		return err
	}
	cols := make([][]string, 6)
	for i := range cols {
		cols[i] = make([]string, 0, len(es))
	}
	for _, e := range es {
		e, err := check.Audit(e)
		if err != nil {
			return fmt.Errorf("postgres: append audit: %w", err)
		}
		for i, v := range []string{ts(e.Time), e.Actor, e.Action, e.Subject, e.Result, e.Detail} {
			cols[i] = append(cols[i], v)
		}
	}
	if len(es) == 0 {
		return nil
	}
	t.q.Defer("append audit", auditInsertSQL, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5])
	return nil
}

// Audit appends e in a group commit with concurrent Audit calls: one
// INSERT of the batch in one transaction of its own.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	if s.closed.Load() {
		return fmt.Errorf("postgres: audit: %w", store.ErrClosed)
	}
	e, err := check.Audit(e)
	if err != nil {
		return fmt.Errorf("postgres: audit: %w", err)
	}
	return s.audits.Add(ctx, e)
}

// writeAudits makes one batch durable, retrying a lost connection as
// Update does (settling a COMMIT in doubt, so nothing is written twice).
func (s *Store) writeAudits(ctx context.Context, es []store.AuditEntry) error {
	cols := make([][]string, 6)
	for _, e := range es {
		for i, v := range []string{ts(e.Time), e.Actor, e.Action, e.Subject, e.Result, e.Detail} {
			cols[i] = append(cols[i], v)
		}
	}
	return s.retry(ctx, func() error {
		return s.run(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, modeLocking, func(stx store.Tx) error {
			stx.(*tx).q.Defer("audit", auditInsertSQL, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5])
			return nil
		})
	})
}

// SealAudit chains every entry committed before the call, waiting for a
// seal running elsewhere to finish first.
func (s *Store) SealAudit(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("postgres: seal audit: %w", store.ErrClosed)
	}
	_, err := s.seal(ctx, true)
	return err
}

// seal chains pending entries, sealBatch per transaction, until none is
// left. With wait false it returns at once if another session is sealing
// (that one will take what is pending) or nothing is pending.
func (s *Store) seal(ctx context.Context, wait bool) (int, error) {
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	total := 0
	for {
		n, err := s.sealOnce(ctx, wait)
		total += n
		if err != nil || n < sealBatch {
			return total, err
		}
	}
}

func (s *Store) sealOnce(ctx context.Context, wait bool) (int, error) {
	if !wait {
		var any bool
		if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM audit_pending)").Scan(&any); err != nil || !any {
			return 0, err
		}
	}
	lock := "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
	if !wait {
		lock += " SKIP LOCKED"
	}
	n := 0
	err := s.retry(ctx, func() error {
		n = 0
		return s.run(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, modeLocking, func(stx store.Tx) error {
			t := stx.(*tx)
			var seq int64
			var prev []byte
			err := t.q.QueryRow(t.ctx, lock).Scan(&seq, &prev)
			if err == pgx.ErrNoRows && !wait {
				return nil // another session is sealing
			}
			if err != nil {
				return t.fail("seal audit: head", err)
			}
			pending, err := queryAll(t, "seal audit", scanPending, `DELETE FROM audit_pending WHERE id IN
				(SELECT id FROM audit_pending ORDER BY id LIMIT $1)
				RETURNING id, time, actor, action, subject, result, detail`, sealBatch)
			if err != nil || len(pending) == 0 {
				return err
			}
			slices.SortFunc(pending, func(a, b pendingEntry) int { return int(a.id - b.id) })
			var seqs []int64
			var cols [6][]string
			var prevs, hashes [][]byte
			for _, p := range pending {
				e := p.e
				seq++
				e.Seq, e.PrevHash = uint64(seq), prev
				e.Hash = store.HashAudit(e)
				prev = e.Hash
				seqs = append(seqs, seq)
				for i, v := range []string{ts(e.Time), e.Actor, e.Action, e.Subject, e.Result, e.Detail} {
					cols[i] = append(cols[i], v)
				}
				prevs, hashes = append(prevs, e.PrevHash), append(hashes, e.Hash)
			}
			if _, err := t.exec("seal audit", `INSERT INTO audit (seq, time, actor, action, subject, result, detail, prev_hash, hash)
				SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::bytea[])`,
				seqs, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], prevs, hashes); err != nil {
				return err
			}
			if _, err := t.exec("seal audit", "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", seq, prev); err != nil {
				return err
			}
			n = len(pending)
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: seal audit: %w", err)
	}
	return n, nil
}

type pendingEntry struct {
	id int64
	e  store.AuditEntry
}

func scanPending(row pgx.Row, p *pendingEntry) error {
	var at string
	if err := row.Scan(&p.id, &at, &p.e.Actor, &p.e.Action, &p.e.Subject, &p.e.Result, &p.e.Detail); err != nil {
		return err
	}
	return times(&at, &p.e.Time)
}

// AuditSealFailures returns how many background seals have failed since
// Open (store.AuditSealMonitor).
func (s *Store) AuditSealFailures() uint64 { return s.sealer.Failures() }

// AuditBacklog returns how many audit entries are committed but not yet
// chained (pending a seal) and the time of the oldest ("" none: the zero
// time). Every Store seals every seal delay, so a backlog that stays, or
// an oldest entry that keeps ageing, means sealing fails: the entries are
// durable but in no chain a verifier or a bundle's audit head covers
// (the server's smki_audit_unsealed_oldest_seconds).
func (s *Store) AuditBacklog(ctx context.Context) (n int, oldest time.Time, err error) {
	if s.closed.Load() {
		return 0, time.Time{}, fmt.Errorf("postgres: audit backlog: %w", store.ErrClosed)
	}
	var first *string
	if err := s.pool.QueryRow(ctx, `SELECT count(*), (SELECT time FROM audit_pending ORDER BY id LIMIT 1) FROM audit_pending`).Scan(&n, &first); err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: audit backlog: %w", err)
	}
	if first != nil {
		if oldest, err = parseTS(*first); err != nil {
			return 0, time.Time{}, err
		}
	}
	return n, oldest, nil
}
