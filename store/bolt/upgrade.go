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
// good were no longer indexed to this layout, in Open's transaction: it
// drops the issuer index and its per-value counts, and the status index's
// good entries and their count. Queries answer the same either way (they
// never read these entries any more); dropping them keeps a later
// revocation from leaving a good entry behind and frees the pages. Each
// step finds nothing to do in a file already upgraded, so it runs at
// every Open at the cost of three lookups.
func narrowIndexes(btx *bbolt.Tx) error {
	if btx.Bucket(bOldIdxIssuer) != nil {
		if err := btx.DeleteBucket(bOldIdxIssuer); err != nil {
			return fmt.Errorf("dropping %s: %w", bOldIdxIssuer, err)
		}
	}
	counts := btx.Bucket(bIdxCounts)
	var stale [][]byte
	if err := scanPrefix(counts, indexPrefix(string(bOldIdxIssuer)), func(k, _ []byte) (bool, error) {
		stale = append(stale, bytes.Clone(k))
		return true, nil
	}); err != nil {
		return err
	}
	if counts.Get(countKey(bIdxStatus, string(store.StatusGood))) != nil {
		stale = append(stale, countKey(bIdxStatus, string(store.StatusGood)))
	}
	for _, k := range stale {
		if err := counts.Delete(k); err != nil {
			return fmt.Errorf("dropping count %q: %w", k, err)
		}
	}
	good := indexPrefix(string(store.StatusGood))
	if k, _ := btx.Bucket(bIdxStatus).Cursor().Seek(good); k == nil || !bytes.HasPrefix(k, good) {
		return nil
	}
	return rebuildWithout(btx, bIdxStatus, good)
}

// rebuildWithout rewrites the top-level bucket name without its keys that
// start with prefix: the rest are copied out, the bucket is dropped and
// created again and they are put back in key order. Deleting the
// prefix's keys one by one instead would rewrite every page holding one
// (almost every certificate is good).
func rebuildWithout(btx *bbolt.Tx, name, prefix []byte) error {
	type kv struct{ k, v []byte }
	var keep []kv
	if err := btx.Bucket(name).ForEach(func(k, v []byte) error {
		if !bytes.HasPrefix(k, prefix) {
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
