package bolt

import (
	"fmt"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// Keys of the state bucket. The sequences live here, not derived from the
// last key of their bucket, so that an append is O(1) and a number once
// committed is never reissued.
var (
	kRevSeq    = []byte("revocation_seq")
	kIssSeq    = []byte("issuance_seq")
	kAuditSeq  = []byte("audit_seq")
	kAuditHash = []byte("audit_last_hash")
)

func (t *tx) counter(key []byte) (uint64, error) {
	v := t.bucket(bState).Get(key)
	if v == nil {
		return 0, nil
	}
	n, err := seqFromKey(v)
	if err != nil {
		return 0, fmt.Errorf("bolt: state %s: %w", key, err)
	}
	return n, nil
}

func (t *tx) setCounter(key []byte, n uint64) error {
	if err := t.bucket(bState).Put(key, seqKey(n)); err != nil {
		return fmt.Errorf("bolt: state %s: %w", key, err)
	}
	return nil
}

// RevocationSeq returns the latest revocation sequence number (0 if none).
func (t *tx) RevocationSeq() (uint64, error) {
	if err := t.read(); err != nil {
		return 0, err
	}
	return t.counter(kRevSeq)
}

// auditHead returns the last audit entry's seq and hash.
func (t *tx) auditHead() (uint64, []byte, error) {
	seq, err := t.counter(kAuditSeq)
	if err != nil {
		return 0, nil, err
	}
	if seq == 0 {
		return 0, nil, nil
	}
	h := t.bucket(bState).Get(kAuditHash)
	if len(h) == 0 {
		return 0, nil, fmt.Errorf("bolt: audit head %d has no hash: %w", seq, store.ErrCorrupt)
	}
	return seq, append([]byte(nil), h...), nil
}

// AppendAudit assigns e the next sequence number and its chain hashes, in
// O(1): the previous hash comes from the state bucket, not a scan.
func (t *tx) AppendAudit(e store.AuditEntry) (store.AuditEntry, error) {
	if err := t.write("append audit"); err != nil {
		return store.AuditEntry{}, err
	}
	e, err := check.Audit(e)
	if err != nil {
		return store.AuditEntry{}, err
	}
	seq, prev, err := t.auditHead()
	if err != nil {
		return store.AuditEntry{}, err
	}
	e.Seq = seq + 1
	e.PrevHash = prev
	e.Hash = store.HashAudit(e)
	if err := t.put(bAudit, seqKey(e.Seq), e); err != nil {
		return store.AuditEntry{}, err
	}
	if err := t.setCounter(kAuditSeq, e.Seq); err != nil {
		return store.AuditEntry{}, err
	}
	if err := t.bucket(bState).Put(kAuditHash, e.Hash); err != nil {
		return store.AuditEntry{}, fmt.Errorf("bolt: audit head: %w", err)
	}
	return e, nil
}

// AuditEntries returns entries with Seq >= from in order, at most limit.
func (t *tx) AuditEntries(from uint64, limit int) ([]store.AuditEntry, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := check.Limit(limit); err != nil {
		return nil, err
	}
	var out []store.AuditEntry
	c := t.bucket(bAudit).Cursor()
	for k, v := c.Seek(seqKey(from)); k != nil; k, v = c.Next() {
		if limit > 0 && len(out) == limit {
			break
		}
		var e store.AuditEntry
		if err := decode(v, &e); err != nil {
			return nil, fmt.Errorf("bolt: audit entry %x: %w", k, err)
		}
		out = append(out, e)
	}
	return out, nil
}
