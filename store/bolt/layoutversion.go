package bolt

import (
	"encoding/binary"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
)

// layoutVersion is the layout of the files this smki writes, recorded in
// the state bucket at every Open so that a later release that changes the
// layout can tell, and an earlier one that knows this guard refuses a
// file it would misread:
//
//	1 (no key): files written before the version was recorded
//	2: no issuer index, no good entries in the status index, no users'
//	   certificate counts (narrowIndexes)
//	3: a completed intent whose certificate is recorded lives in
//	   intents_done under the certificate's issuance sequence, not in
//	   intents (intents.go). Open moves a layout-2 file's there, in
//	   transactions of their own after the one that records the version
//	   (reads find an intent in either place meanwhile); a layout-2 smki
//	   would not find the ones moved.
//
// A release that changes what a query reads raises it, and brings older
// files to it at Open: in Open's transaction, or (3) after it, reading
// both layouts meanwhile.
const layoutVersion = 3

// checkLayout refuses a file whose layout version is newer than
// layoutVersion (store.ErrTooNew): it was upgraded by a newer smki, and
// this one would misread what that one changed. It runs first in Open's
// transaction, so a refused file is not changed at all.
func checkLayout(btx *bbolt.Tx) error {
	st := btx.Bucket(bState)
	if st == nil {
		return nil
	}
	v := st.Get(kLayout)
	if v == nil {
		return nil
	}
	n, k := binary.Uvarint(v)
	if k <= 0 || k != len(v) {
		return fmt.Errorf("layout version %x does not decode: %w", v, store.ErrCorrupt)
	}
	if n > layoutVersion {
		return fmt.Errorf("the file's layout version is %d, this smki knows up to %d: it was upgraded by a newer smki; "+
			"run that one, or restore a backup taken before the upgrade: %w", n, layoutVersion, store.ErrTooNew)
	}
	return nil
}

// recordLayout writes layoutVersion, once the file has been brought to
// it (the end of Open's transaction).
func recordLayout(btx *bbolt.Tx) error {
	return btx.Bucket(bState).Put(kLayout, binary.AppendUvarint(nil, layoutVersion))
}
