package bolt

import (
	"fmt"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// RevokeMany revokes serials in order as one step. bbolt has no
// savepoints, so every certificate is read and checked before anything is
// written: a refused list leaves the transaction as it was. Each record is
// decoded once (the checked copy is the one rewritten), and the status
// index counts and the revocation counter are written once per call
// rather than once per serial.
func (t *tx) RevokeMany(serials []string, reason int, at time.Time) ([]store.Revocation, error) {
	if err := t.write("revoke many"); err != nil {
		return nil, err
	}
	if err := check.Revocations(serials, reason, at); err != nil {
		return nil, fmt.Errorf("bolt: revoke many: %w", err)
	}
	if len(serials) == 0 {
		return nil, nil
	}
	certs, err := t.revocable(serials)
	if err != nil {
		return nil, err
	}
	seq, err := t.counter(kRevSeq)
	if err != nil {
		return nil, err
	}
	at = at.UTC()
	idx := t.bucket(bIdxStatus)
	moved := map[string]int64{} // status index count deltas (certIndexes)
	out := make([]store.Revocation, len(certs))
	for i := range certs {
		c := &certs[i]
		seq++
		if from := statusIndexed(c.Status); from != "" {
			if err := idx.Delete(indexKey(from, c.Serial)); err != nil {
				return nil, fmt.Errorf("bolt: index %s: %w", bIdxStatus, err)
			}
			moved[from]--
		}
		c.Status, c.RevokedAt, c.Reason, c.RevocationSeq = store.StatusRevoked, at, reason, seq
		to := statusIndexed(c.Status)
		if err := idx.Put(indexKey(to, c.Serial), nil); err != nil {
			return nil, fmt.Errorf("bolt: index %s: %w", bIdxStatus, err)
		}
		moved[to]++
		if err := t.put(bCerts, []byte(c.Serial), c); err != nil {
			return nil, err
		}
		out[i] = store.Revocation{Seq: seq, Serial: c.Serial, Issuer: c.Issuer, UserID: c.UserID, PartyID: c.PartyID, Reason: reason, RevokedAt: at}
		if err := t.put(bRevs, seqKey(seq), out[i]); err != nil {
			return nil, err
		}
	}
	for status, d := range moved {
		if err := t.addCount(bIdxStatus, status, d); err != nil {
			return nil, err
		}
	}
	if err := t.setCounter(kRevSeq, seq); err != nil {
		return nil, err
	}
	return out, nil
}

// revocable reads the certificate of every serial, in order, and refuses
// the list at the first serial that is unknown, already revoked or listed
// twice.
func (t *tx) revocable(serials []string) ([]store.Certificate, error) {
	certs := make([]store.Certificate, len(serials))
	seen := make(map[string]struct{}, len(serials))
	b := ascending{c: t.bucket(bCerts).Cursor()} // lists are mostly in serial order
	for i, serial := range serials {
		if _, dup := seen[serial]; dup {
			return nil, refuse(serial, fmt.Errorf("listed twice: %w", store.ErrAlreadyRevoked))
		}
		seen[serial] = struct{}{}
		data := b.get([]byte(serial))
		if data == nil {
			return nil, refuse(serial, fmt.Errorf("no certificate: %w", store.ErrNotFound))
		}
		c := &certs[i]
		if err := decode(data, c); err != nil {
			return nil, refuse(serial, err)
		}
		if c.Status == store.StatusRevoked {
			return nil, refuse(serial, fmt.Errorf("revoked at %s (seq %d): %w",
				c.RevokedAt.Format(time.RFC3339), c.RevocationSeq, store.ErrAlreadyRevoked))
		}
	}
	return certs, nil
}

func refuse(serial string, err error) error {
	return fmt.Errorf("bolt: revoke many: %w", &store.SerialError{Serial: serial, Err: err})
}
