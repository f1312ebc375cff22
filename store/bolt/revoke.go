package bolt

import (
	"fmt"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// Revoke marks serial revoked, files it in the status index (a good
// certificate is in none: certIndexes) and
// appends a Revocation with the next sequence number, all in this Tx.
func (t *tx) Revoke(serial string, reason int, at time.Time) (store.Revocation, error) {
	if err := t.write("revoke"); err != nil {
		return store.Revocation{}, err
	}
	if err := check.Revocation(serial, reason, at); err != nil {
		return store.Revocation{}, fmt.Errorf("bolt: revoke: %w", err)
	}
	var c store.Certificate
	if err := t.get(bCerts, serial, "certificate", &c); err != nil {
		return store.Revocation{}, fmt.Errorf("bolt: revoke: %w", err)
	}
	if c.Status == store.StatusRevoked {
		return store.Revocation{}, fmt.Errorf("bolt: revoke %s: revoked at %s (seq %d): %w",
			serial, c.RevokedAt.Format(time.RFC3339), c.RevocationSeq, store.ErrAlreadyRevoked)
	}
	seq, err := t.counter(kRevSeq)
	if err != nil {
		return store.Revocation{}, err
	}
	return t.markRevoked(c, reason, at, seq+1)
}

// markRevoked records c as revoked with sequence number seq (the caller
// has checked it is the next one) and advances the revocation counter to
// it. Revoke and ImportRevocation share it.
func (t *tx) markRevoked(c store.Certificate, reason int, at time.Time, seq uint64) (store.Revocation, error) {
	serial := c.Serial
	if err := t.dropIndex(bIdxStatus, statusIndexed(c.Status), serial); err != nil {
		return store.Revocation{}, err
	}
	c.Status, c.RevokedAt, c.Reason, c.RevocationSeq = store.StatusRevoked, at.UTC(), reason, seq
	if err := t.addIndex(bIdxStatus, statusIndexed(c.Status), serial); err != nil {
		return store.Revocation{}, err
	}
	if err := t.put(bCerts, []byte(serial), c); err != nil {
		return store.Revocation{}, err
	}
	r := store.Revocation{Seq: seq, Serial: serial, Issuer: c.Issuer, UserID: c.UserID, PartyID: c.PartyID, Reason: reason, RevokedAt: c.RevokedAt}
	if err := t.put(bRevs, seqKey(seq), r); err != nil {
		return store.Revocation{}, err
	}
	if err := t.setCounter(kRevSeq, seq); err != nil {
		return store.Revocation{}, err
	}
	return r, nil
}

// RevocationsSince seeks to since+1 and returns at most limit entries.
func (t *tx) RevocationsSince(since uint64, limit int) ([]store.Revocation, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := check.Limit(limit); err != nil {
		return nil, fmt.Errorf("bolt: revocations since %d: %w", since, err)
	}
	if since == ^uint64(0) {
		return nil, nil
	}
	var out []store.Revocation
	c := t.bucket(bRevs).Cursor()
	for k, v := c.Seek(seqKey(since + 1)); k != nil; k, v = c.Next() {
		if limit > 0 && len(out) == limit {
			break
		}
		var r store.Revocation
		if err := decode(v, &r); err != nil {
			return nil, fmt.Errorf("bolt: revocation %x: %w", k, err)
		}
		out = append(out, r)
	}
	return out, nil
}
