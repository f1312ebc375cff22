package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/smki/smki/store"

	bbolt "go.etcd.io/bbolt"
)

// Bucket names. The layout is the file format: renaming a bucket needs a
// migration.
var (
	bMeta        = []byte("meta")
	bState       = []byte("state")        // counters and the audit head, see state.go
	bIntents     = []byte("intents")      // intents in flight, failed ones, see intents.go
	bIntentsDone = []byte("intents_done") // completed intents by issuance sequence, see intents.go
	bCerts       = []byte("certs")
	bRevs        = []byte("revocations")
	bCRLs        = []byte("crls")
	bParties     = []byte("parties")
	bUsers       = []byte("users")
	bOfficers    = []byte("officers")
	bAudit       = []byte("audit")
	bIdxUser     = []byte("idx_cert_user")
	bIdxParty    = []byte("idx_cert_party")
	bIdxStatus   = []byte("idx_cert_status") // statuses other than good (certIndexes)
	bIdxKey      = []byte("idx_cert_key")    // value: the certificate's UserID
	bIdxCounts   = []byte("idx_cert_counts")
	bRecords     = []byte("records") // one nested bucket per record kind
	bIssued      = []byte("issued")  // issuance sequence (seqKey) -> serial
	// kLayout (in bState) is the file's layout version (layoutVersion).
	kLayout    = []byte("layout")
	allBuckets = [][]byte{bMeta, bState, bIntents, bIntentsDone, bCerts, bRevs, bCRLs, bParties, bUsers, bOfficers, bAudit, bIdxUser, bIdxParty, bIdxStatus, bIdxKey, bIdxCounts, bRecords, bIssued}
)

func createBuckets(btx *bbolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := btx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("bucket %s: %w", name, err)
		}
	}
	return nil
}

// seqKey encodes a sequence number so that byte order is numeric order,
// which makes "entries after n" a cursor seek.
func seqKey(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}

func seqFromKey(k []byte) (uint64, error) {
	if len(k) != 8 {
		return 0, fmt.Errorf("sequence key of %d bytes: %w", len(k), store.ErrCorrupt)
	}
	return binary.BigEndian.Uint64(k), nil
}

// indexKey is value NUL serial. Values are checked NUL-free before
// writing, so the prefix value NUL matches exactly one value.
func indexKey(value, serial string) []byte {
	k := make([]byte, 0, len(value)+1+len(serial))
	k = append(k, value...)
	k = append(k, 0)
	return append(k, serial...)
}

func indexPrefix(value string) []byte {
	return append([]byte(value), 0)
}

// scanPrefix calls fn for each key (and value) in b starting with prefix,
// in key order, until fn returns false or an error.
func scanPrefix(b *bbolt.Bucket, prefix []byte, fn func(k, v []byte) (bool, error)) error {
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// encode writes certificates and revocations in the compact encoding
// (codec.go) and every other record as JSON.
// ascending reads keys of one bucket given mostly in ascending order,
// as index walks and sorted serial lists give them: a key a few places
// after the previous one is reached by stepping the cursor (Next) rather
// than by a lookup from the root, which is most of a lookup's cost when
// the keys are dense. Any other key is sought. The bucket must not be
// written while it is used.
type ascending struct {
	c    *bbolt.Cursor
	k, v []byte
}

// ascendingSteps is how far get steps before it seeks.
const ascendingSteps = 4

// get returns key's value, or nil if the bucket does not hold key.
func (a *ascending) get(key []byte) []byte {
	if a.k != nil {
		switch cmp := bytes.Compare(key, a.k); {
		case cmp == 0:
			return a.v
		case cmp > 0:
			for range ascendingSteps {
				if a.k, a.v = a.c.Next(); a.k == nil {
					break
				}
				switch bytes.Compare(a.k, key) {
				case 0:
					return a.v
				case 1:
					return nil
				}
			}
		}
	}
	a.k, a.v = a.c.Seek(key)
	if a.k != nil && bytes.Equal(a.k, key) {
		return a.v
	}
	return nil
}

func encode(v any) ([]byte, error) {
	switch r := v.(type) {
	case store.Certificate:
		return encodeCert(&r), nil
	case *store.Certificate:
		return encodeCert(r), nil
	case store.Revocation:
		return encodeRevocation(&r), nil
	case *store.Revocation:
		return encodeRevocation(r), nil
	case store.Intent:
		return encodeIntent(&r), nil
	case store.Party:
		return encodeParty(&r), nil
	case store.User:
		return encodeUser(&r), nil
	case store.Officer:
		return encodeOfficer(&r), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return b, nil
}

// decode reads what encode wrote, and JSON for every record kind (records
// written before the compact encoding).
func decode(data []byte, v any) error {
	if len(data) > 0 && data[0] != '{' {
		var done bool
		var err error
		switch r := v.(type) {
		case *store.Certificate:
			done, err = decodeCompact(data, fmtCert, r, decodeCert)
		case *store.Revocation:
			done, err = decodeCompact(data, fmtRevocation, r, decodeRevocation)
		case *store.Intent:
			done, err = decodeCompact(data, fmtIntent, r, decodeIntent)
		case *store.Party:
			done, err = decodeCompact(data, fmtParty, r, decodeParty)
		case *store.User:
			done, err = decodeCompact(data, fmtUser, r, decodeUser)
		case *store.Officer:
			done, err = decodeCompact(data, fmtOfficer, r, decodeOfficer)
		}
		if done {
			return err
		}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %T: %v: %w", v, err, store.ErrCorrupt)
	}
	return nil
}

// decodeCompact decodes data into a zeroed *r with dec if data is a
// compact record of format; done is false if it is not.
func decodeCompact[T any](data []byte, format byte, r *T, dec func([]byte, *T) error) (done bool, err error) {
	if data[0] != format {
		return false, nil
	}
	var zero T
	*r = zero
	return true, dec(data, r)
}
