package bolt

import (
	"bytes"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
)

// bOldIdxIssuer is the issuer index of files written before the issuer
// and the status good were no longer indexed (certIndexes); the upgrade
// drops it.
var bOldIdxIssuer = []byte("idx_cert_issuer")

// narrowIndexes brings a file written before the issuer and the status
// good were no longer indexed and users' certificates no longer counted
// to this layout, in Open's transaction: it drops the issuer index, the
// status index's good entries, and the counts of issuers, of the status
// good and of users. Queries answer the same either way (they never read
// these entries any more); dropping them keeps a later revocation from
// leaving a good entry behind and frees the pages. Each step finds
// nothing to do in a file already upgraded, so it runs at every Open at
// the cost of a few lookups.
func narrowIndexes(btx *bbolt.Tx) error {
	if btx.Bucket(bOldIdxIssuer) != nil {
		if err := btx.DeleteBucket(bOldIdxIssuer); err != nil {
			return fmt.Errorf("dropping %s: %w", bOldIdxIssuer, err)
		}
	}
	issuers, users := indexPrefix(string(bOldIdxIssuer)), indexPrefix(string(bIdxUser))
	good := countKey(bIdxStatus, string(store.StatusGood))
	staleCount := func(k []byte) bool {
		return bytes.HasPrefix(k, issuers) || bytes.HasPrefix(k, users) || bytes.Equal(k, good)
	}
	if hasKey(btx.Bucket(bIdxCounts), issuers) || hasKey(btx.Bucket(bIdxCounts), users) || btx.Bucket(bIdxCounts).Get(good) != nil {
		if err := rebuildWithout(btx, bIdxCounts, staleCount); err != nil {
			return err
		}
	}
	goodEntry := indexPrefix(string(store.StatusGood))
	if hasKey(btx.Bucket(bIdxStatus), goodEntry) {
		return rebuildWithout(btx, bIdxStatus, func(k []byte) bool { return bytes.HasPrefix(k, goodEntry) })
	}
	return nil
}

// hasKey says whether b holds a key starting with prefix.
func hasKey(b *bbolt.Bucket, prefix []byte) bool {
	k, _ := b.Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

// rebuildWithout rewrites the top-level bucket name without the keys drop
// selects: the rest are copied out, the bucket is dropped and created
// again and they are put back in key order. Deleting the dropped keys
// one by one instead would rewrite every page holding one (almost every
// certificate is good).
func rebuildWithout(btx *bbolt.Tx, name []byte, drop func(k []byte) bool) error {
	type kv struct{ k, v []byte }
	var keep []kv
	if err := btx.Bucket(name).ForEach(func(k, v []byte) error {
		if !drop(k) {
			keep = append(keep, kv{bytes.Clone(k), bytes.Clone(v)})
		}
		return nil
	}); err != nil {
		return err
	}
	if err := btx.DeleteBucket(name); err != nil {
		return fmt.Errorf("rebuilding %s: %w", name, err)
	}
	b, err := btx.CreateBucket(name)
	if err != nil {
		return fmt.Errorf("rebuilding %s: %w", name, err)
	}
	b.FillPercent = 1 // appended in key order: full pages
	for _, e := range keep {
		if err := b.Put(e.k, e.v); err != nil {
			return fmt.Errorf("rebuilding %s: %w", name, err)
		}
	}
	return nil
}
