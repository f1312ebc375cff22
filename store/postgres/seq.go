package postgres

// The revocation sequence, and the audit head for importers. A
// transaction's first use locks the row (SELECT ... FOR UPDATE) until it
// commits or rolls back, so concurrent writers queue on it (and, at
// SERIALIZABLE, retry): numbers are gap-free and in commit order. Later
// uses in the same transaction count in memory, and flush writes the
// final values once. Ordinary audit appends never touch audit_head (see
// seal.go).

type counter struct {
	locked bool
	value  int64
	dirty  bool
}

type auditHead struct {
	locked bool
	seq    int64
	hash   []byte
	dirty  bool
}

// nextIssuanceSeq and nextRevocationSeq return the next number of their
// sequence.
func (t *tx) nextIssuanceSeq() (int64, error) {
	return t.nextSeq(&t.iss, "issuance", issuanceSeqSQL)
}
func (t *tx) nextRevocationSeq() (int64, error) {
	return t.nextSeq(&t.rev, "revocation", "UPDATE counters SET value = value + 1 WHERE name = 'revocation' RETURNING value")
}

// issuanceSeqSQL advances the issuance counter. Its subquery takes ROW
// SHARE on issuance_lock before the statement runs, which waits while a
// queued issuance (modeQueued, LOCK TABLE issuance_lock IN EXCLUSIVE MODE)
// holds it: nobody advances the counter between a queued issuance's
// snapshot and its commit, so a queued issuance cannot lose the counter
// again. Without it, issuances on their first attempt overtook the queue
// and a queued one could lose 30 times in a row (the conformance test
// ConcurrentIssuance gave up under load). Issuers on their first attempt
// do not queue behind each other (ROW SHARE locks are compatible).
const issuanceSeqSQL = `UPDATE counters SET value = value + 1
	WHERE name = 'issuance' AND (SELECT count(*) FROM (SELECT 1 FROM issuance_lock FOR SHARE) q) >= 0
	RETURNING value`

// nextSeq advances the counters row name with the statement advance,
// locking it on first use, or the in-memory copy c after that.
func (t *tx) nextSeq(c *counter, name, advance string) (int64, error) {
	if !c.locked {
		var v int64
		err := t.one(name+" seq", t.q.QueryRow(t.ctx, advance), &v)
		if err != nil {
			return 0, err
		}
		*c = counter{locked: true, value: v}
		return v, nil
	}
	c.value++
	c.dirty = true
	return c.value, nil
}

func (t *tx) lockAuditHead() error {
	if t.audit.locked {
		return nil
	}
	var h auditHead
	if err := t.one("audit head", t.q.QueryRow(t.ctx, "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"), &h.seq, &h.hash); err != nil {
		return err
	}
	h.locked = true
	t.audit = h
	return nil
}

// flush writes the in-memory sequence values back before commit, in
// COMMIT's round trip (txConn.Defer).
func (t *tx) flush() error {
	for _, c := range []struct {
		c    *counter
		name string
	}{{&t.iss, "issuance"}, {&t.rev, "revocation"}} {
		if c.c.dirty {
			t.q.Defer(c.name+" seq", "UPDATE counters SET value = $1 WHERE name = $2", c.c.value, c.name)
			c.c.dirty = false
		}
	}
	if t.audit.dirty {
		t.q.Defer("audit head", "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", t.audit.seq, t.audit.hash)
		t.audit.dirty = false
	}
	return nil
}

// setRevocationSeq locks the revocation counter and sets it to v, written
// back by flush. For importers: writing the row directly would be
// overwritten by flush if this transaction also revoked.
func (t *tx) setRevocationSeq(v int64) error {
	if err := t.lockRevocationSeq(); err != nil {
		return err
	}
	t.rev.value, t.rev.dirty = v, true
	return nil
}

// lockRevocationSeq locks the revocation counter row, if this transaction
// has not yet, without advancing it: RevokeMany numbers a whole batch
// from t.rev.value and advances it once the batch is written.
func (t *tx) lockRevocationSeq() error {
	if t.rev.locked {
		return nil
	}
	var cur int64
	if err := t.one("revocation seq", t.q.QueryRow(t.ctx,
		"SELECT value FROM counters WHERE name = 'revocation' FOR UPDATE"), &cur); err != nil {
		return err
	}
	t.rev = counter{locked: true, value: cur}
	return nil
}

// lockedAuditHead returns the audit head as this transaction sees it
// (including its own appends), locking the row first. For importers.
func (t *tx) lockedAuditHead() (seq int64, hash []byte, err error) {
	if err := t.lockAuditHead(); err != nil {
		return 0, nil, err
	}
	return t.audit.seq, t.audit.hash, nil
}

// setAuditHead moves the audit head to (seq, hash), written by flush.
func (t *tx) setAuditHead(seq int64, hash []byte) error {
	if err := t.lockAuditHead(); err != nil {
		return err
	}
	t.audit.seq, t.audit.hash, t.audit.dirty = seq, hash, true
	return nil
}
