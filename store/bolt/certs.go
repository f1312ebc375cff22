package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// certIndexes lists the filterable secondary indexes and the field each
// one keys on: the value a certificate is filed under in each, "" where
// it is not filed. Empty values (CA certificates have no UserID) are not
// indexed: a filter on "" means "any". Two fields are not indexed because
// an index on them would not narrow a search: the issuer (one Issuing CA
// issues almost every certificate) and the status good (almost every
// certificate has it); bIdxStatus holds the other statuses only. A filter
// on them is applied to the records another index or the certificates
// bucket gives (ListCertificates). Each index entry is a leaf page of its
// own that an issuance rewrites at commit, so an index that does not
// narrow costs issuance and buys no query.
func certIndexes(c store.Certificate) []struct {
	bucket []byte
	value  string
} {
	return []struct {
		bucket []byte
		value  string
	}{
		{bIdxUser, c.UserID},
		{bIdxParty, c.PartyID},
		{bIdxStatus, statusIndexed(c.Status)},
	}
}

// statusIndexed is the value a certificate with status is filed under in
// bIdxStatus: "" (none) for good.
func statusIndexed(status store.CertStatus) string {
	if status == store.StatusGood {
		return ""
	}
	return string(status)
}

// PutCertificate inserts c with its index entries. The serial must be
// free of certificates (an intent for it is expected), and a non-empty
// KeyHash must not be certified for another UserID.
func (t *tx) PutCertificate(c store.Certificate) error {
	if err := t.write("put certificate"); err != nil {
		return err
	}
	c, err := check.Certificate(c)
	if err != nil {
		return fmt.Errorf("bolt: put certificate: %w", err)
	}
	if t.bucket(bCerts).Get([]byte(c.Serial)) != nil {
		return fmt.Errorf("bolt: put certificate %s: %w", c.Serial, store.ErrDuplicateSerial)
	}
	if c.KeyHash != "" {
		if err := t.checkKeyOwner(c); err != nil {
			return err
		}
		if err := t.bucket(bIdxKey).Put(indexKey(c.KeyHash, c.Serial), []byte(c.UserID)); err != nil {
			return fmt.Errorf("bolt: index key hash: %w", err)
		}
	}
	for _, ix := range certIndexes(c) {
		if err := t.addIndex(ix.bucket, ix.value, c.Serial); err != nil {
			return err
		}
	}
	seq, err := t.counter(kIssSeq)
	if err != nil {
		return err
	}
	c.IssuanceSeq = seq + 1
	if err := t.bucket(bIssued).Put(seqKey(c.IssuanceSeq), []byte(c.Serial)); err != nil {
		return fmt.Errorf("bolt: issuance sequence: %w", err)
	}
	if err := t.setCounter(kIssSeq, c.IssuanceSeq); err != nil {
		return err
	}
	return t.put(bCerts, []byte(c.Serial), c)
}

// IssuanceSeq returns the latest issuance sequence number (0 if none).
func (t *tx) IssuanceSeq() (uint64, error) {
	if err := t.read(); err != nil {
		return 0, err
	}
	return t.counter(kIssSeq)
}

// CertificatesIssuedSince seeks the issuance sequence to since+1.
func (t *tx) CertificatesIssuedSince(since uint64, limit int) ([]store.Certificate, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := check.Limit(limit); err != nil {
		return nil, fmt.Errorf("bolt: certificates issued since %d: %w", since, err)
	}
	if since == ^uint64(0) {
		return nil, nil
	}
	var out []store.Certificate
	cur := t.bucket(bIssued).Cursor()
	for k, v := cur.Seek(seqKey(since + 1)); k != nil; k, v = cur.Next() {
		if limit > 0 && len(out) == limit {
			break
		}
		var c store.Certificate
		if err := t.get(bCerts, string(v), "certificate", &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// checkKeyOwner reads the key-hash index, whose values are UserIDs, so
// the check touches no certificate record.
func (t *tx) checkKeyOwner(c store.Certificate) error {
	return scanPrefix(t.bucket(bIdxKey), indexPrefix(c.KeyHash), func(k, v []byte) (bool, error) {
		if string(v) != c.UserID {
			return false, fmt.Errorf("bolt: put certificate %s: key %s is certified for user %q: %w",
				c.Serial, c.KeyHash, v, store.ErrDuplicateKey)
		}
		return true, nil
	})
}

// addIndex and dropIndex keep the index and its per-value count (used by
// ListCertificates to choose the most selective index) in step. The user
// index has no counts (counted): a user has few certificates, and an
// issuance's count key would be one more page its commit rewrites.
func (t *tx) addIndex(bucket []byte, value, serial string) error {
	if value == "" {
		return nil
	}
	if err := t.bucket(bucket).Put(indexKey(value, serial), nil); err != nil {
		return fmt.Errorf("bolt: index %s: %w", bucket, err)
	}
	if !counted(bucket) {
		return nil
	}
	return t.addCount(bucket, value, 1)
}

// counted says whether bIdxCounts keeps the per-value counts of bucket:
// every filter index but the user's (userCount counts a user's entries).
func counted(bucket []byte) bool { return !bytes.Equal(bucket, bIdxUser) }

// userCount counts user's entries in the user index, stopping once
// there are more than limit: n <= limit is the exact count, n > limit
// only says it exceeds limit.
func (t *tx) userCount(user string, limit uint64) (n uint64) {
	prefix := indexPrefix(user)
	c := t.bucket(bIdxUser).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && n <= limit; k, _ = c.Next() {
		n++
	}
	return n
}

func (t *tx) dropIndex(bucket []byte, value, serial string) error {
	if value == "" {
		return nil
	}
	if err := t.bucket(bucket).Delete(indexKey(value, serial)); err != nil {
		return fmt.Errorf("bolt: index %s: %w", bucket, err)
	}
	return t.addCount(bucket, value, -1)
}

func countKey(bucket []byte, value string) []byte {
	return indexKey(string(bucket), value)
}

func (t *tx) count(bucket []byte, value string) uint64 {
	v := t.bucket(bIdxCounts).Get(countKey(bucket, value))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func (t *tx) addCount(bucket []byte, value string, d int64) error {
	n := int64(t.count(bucket, value)) + d
	if n < 0 {
		return fmt.Errorf("bolt: index count %s/%s below zero: %w", bucket, value, store.ErrCorrupt)
	}
	k := countKey(bucket, value)
	var err error
	if n == 0 {
		err = t.bucket(bIdxCounts).Delete(k)
	} else {
		err = t.bucket(bIdxCounts).Put(k, seqKey(uint64(n)))
	}
	if err != nil {
		return fmt.Errorf("bolt: index count %s: %w", bucket, err)
	}
	return nil
}

// certAt decodes the certificate record data of serial (nil: there
// is none, ErrNotFound) into c, as get does.
func certAt(data, serial []byte, c *store.Certificate) error {
	if data == nil {
		return fmt.Errorf("bolt: certificate %q: %w", serial, store.ErrNotFound)
	}
	if err := decode(data, c); err != nil {
		return fmt.Errorf("bolt: certificate %q: %w", serial, err)
	}
	return nil
}

// GetCertificate returns the certificate for serial, or ErrNotFound.
func (t *tx) GetCertificate(serial string) (store.Certificate, error) {
	var c store.Certificate
	if err := t.read(); err != nil {
		return c, err
	}
	err := t.get(bCerts, serial, "certificate", &c)
	return c, err
}

// ListCertificates walks the index whose filter value has the fewest
// certificates (exact counts are kept per value, a user's are counted
// from the user index) and checks the other
// filter fields on each record. Index keys sort by serial within a value,
// so the result is in serial order and Limit stops the walk early. With no
// indexed filter field set (none, or only the issuer, the role or the
// status good: certIndexes) it walks the certificates bucket, also in
// serial order. A record that fails the filter is skipped without being
// decoded (certFilterFields).
func (t *tx) ListCertificates(f store.CertFilter) ([]store.Certificate, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := check.Limit(f.Limit); err != nil {
		return nil, fmt.Errorf("bolt: list certificates: %w", err)
	}
	filter := store.Certificate{Issuer: f.Issuer, UserID: f.UserID, PartyID: f.PartyID, Status: f.Status}
	var best []byte
	var bestValue string
	bestCount := ^uint64(0)
	for _, ix := range certIndexes(filter) {
		if ix.value == "" || !counted(ix.bucket) {
			continue
		}
		if n := t.count(ix.bucket, ix.value); n < bestCount {
			best, bestValue, bestCount = ix.bucket, ix.value, n
		}
	}
	// The user's index wins a tie, as the first of certIndexes: counting
	// its entries stops past the best count of the others.
	if f.UserID != "" {
		if n := t.userCount(f.UserID, bestCount); n <= bestCount {
			best, bestValue, bestCount = bIdxUser, f.UserID, n
		}
	}
	// The smallest index count bounds the result: one allocation rather
	// than a 100,000-certificate slice copied as it grows. A walk of the
	// certificates bucket is bounded by their number (scanBound).
	n, bounded := bestCount, best != nil
	switch {
	case f.Limit > 0 && !bounded:
		n, bounded = uint64(f.Limit), true
	case f.Limit > 0:
		n = min(n, uint64(f.Limit))
	case !bounded:
		n, bounded = t.scanBound(f)
	}
	var out []store.Certificate
	if bounded {
		out = make([]store.Certificate, 0, n)
	}
	certs := ascending{c: t.bucket(bCerts).Cursor()} // index keys are in serial order
	take := func(serial, data []byte) (bool, error) {
		if data != nil && !recordMatches(data, f) {
			return true, nil
		}
		var c store.Certificate
		if err := certAt(data, serial, &c); err != nil {
			return false, err
		}
		if matches(c, f) {
			out = append(out, c)
		}
		return f.Limit == 0 || len(out) < f.Limit, nil
	}
	if best == nil {
		err := scanFrom(t.bucket(bCerts), nil, f.After, take)
		if len(out) == 0 {
			out = nil // as without the allocation above
		}
		return out, err
	}
	if bestCount == 0 {
		return nil, nil
	}
	prefix := indexPrefix(bestValue)
	err := scanFrom(t.bucket(best), prefix, f.After, func(k, _ []byte) (bool, error) {
		serial := k[len(prefix):]
		return take(serial, certs.get(serial))
	})
	if len(out) == 0 {
		out = nil // as without the allocation above
	}
	return out, err
}

// scanBound bounds the result of a search that walks the certificates
// bucket (no indexed filter field). Without a filter on the issuer or the
// role it is every certificate (as many as the issuance sequence has
// numbered: none is ever deleted), and the status good leaves out the
// revoked ones. An issuer or a role may select all or none, so those
// records are counted first (without decoding them: recordMatches).
func (t *tx) scanBound(f store.CertFilter) (n uint64, ok bool) {
	if f.Issuer != "" || f.Role != "" {
		err := scanFrom(t.bucket(bCerts), nil, f.After, func(_, v []byte) (bool, error) {
			if recordMatches(v, f) {
				n++
			}
			return true, nil
		})
		return n, err == nil
	}
	total, err := t.counter(kIssSeq)
	if err != nil {
		return 0, false
	}
	if f.Status == store.StatusGood {
		total -= min(total, t.count(bIdxStatus, string(store.StatusRevoked)))
	}
	return total, true
}

// scanFrom is scanPrefix over the keys prefix+serial with serial > after
// ("" for all).
func scanFrom(b *bbolt.Bucket, prefix []byte, after string, fn func(k, v []byte) (bool, error)) error {
	if after == "" {
		return scanPrefix(b, prefix, fn)
	}
	start := append(append([]byte(nil), prefix...), after...)
	c := b.Cursor()
	k, v := c.Seek(start)
	if k != nil && bytes.Equal(k, start) {
		k, v = c.Next()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// backfillIssued gives certificates written before the issuance sequence
// existed their numbers, in (IssuedAt, serial) order, once: it runs only
// while the sequence is empty and certificates exist.
func backfillIssued(btx *bbolt.Tx) error {
	state := btx.Bucket(bState)
	if state.Get(kIssSeq) != nil {
		return nil
	}
	certs := btx.Bucket(bCerts)
	var all []store.Certificate
	if err := certs.ForEach(func(k, v []byte) error {
		var c store.Certificate
		if err := decode(v, &c); err != nil {
			return fmt.Errorf("certificate %s: %w", k, err)
		}
		all = append(all, c)
		return nil
	}); err != nil {
		return err
	}
	if len(all) == 0 {
		return nil
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].IssuedAt.Equal(all[j].IssuedAt) {
			return all[i].IssuedAt.Before(all[j].IssuedAt)
		}
		return all[i].Serial < all[j].Serial
	})
	issued := btx.Bucket(bIssued)
	for i, c := range all {
		c.IssuanceSeq = uint64(i + 1)
		b, err := encode(c)
		if err != nil {
			return err
		}
		if err := certs.Put([]byte(c.Serial), b); err != nil {
			return err
		}
		if err := issued.Put(seqKey(c.IssuanceSeq), []byte(c.Serial)); err != nil {
			return err
		}
	}
	return state.Put(kIssSeq, seqKey(uint64(len(all))))
}

// recordMatches is false if data is a compact certificate record whose
// filter fields do not match f; true if they match or data is not one (a
// JSON record, or a damaged one: decoding it reports why).
func recordMatches(data []byte, f store.CertFilter) bool {
	fields, ok := certFilterFields(data)
	if !ok {
		return true
	}
	return (f.Issuer == "" || string(fields.issuer) == f.Issuer) &&
		(f.Role == "" || string(fields.role) == f.Role) &&
		(f.UserID == "" || string(fields.userID) == f.UserID) &&
		(f.PartyID == "" || string(fields.partyID) == f.PartyID) &&
		(f.Status == "" || string(fields.status) == string(f.Status))
}

func matches(c store.Certificate, f store.CertFilter) bool {
	return (f.Issuer == "" || c.Issuer == f.Issuer) &&
		(f.Role == "" || c.Role == f.Role) &&
		(f.UserID == "" || c.UserID == f.UserID) &&
		(f.PartyID == "" || c.PartyID == f.PartyID) &&
		(f.Status == "" || c.Status == f.Status)
}

// CertificatesByKey returns every certificate for keyHash, by serial.
func (t *tx) CertificatesByKey(keyHash string) ([]store.Certificate, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if keyHash == "" {
		return nil, fmt.Errorf("bolt: certificates by key: empty key hash: %w", store.ErrInvalid)
	}
	var out []store.Certificate
	prefix := indexPrefix(keyHash)
	certs := ascending{c: t.bucket(bCerts).Cursor()}
	err := scanPrefix(t.bucket(bIdxKey), prefix, func(k, _ []byte) (bool, error) {
		var c store.Certificate
		if err := certAt(certs.get(k[len(prefix):]), k[len(prefix):], &c); err != nil {
			return false, err
		}
		out = append(out, c)
		return true, nil
	})
	return out, err
}
