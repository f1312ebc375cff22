package records

import (
	"errors"
	"fmt"
	"time"

	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/store"
)

// kindReplaced is the record of a certificate a renewal or rekey
// replaced; ID: the replaced certificate's serial. A certificate is
// replaced once: the record is written in the transaction that records
// its replacement, and the enrolment checks refuse a second renewal or
// rekey of a certificate that has one.
const kindReplaced = "replaced"

// Replacement is what replaced a certificate.
type Replacement struct {
	By   string    `json:"by"`   // serial of the replacement
	Mode string    `json:"mode"` // renew or rekey
	At   time.Time `json:"at"`   // when the replacement was issued
}

// ReplacedKey is the record key of serial's Replacement, for a read
// ahead (store.ReadAhead.Records).
func ReplacedKey(serial string) store.RecordKey {
	return store.RecordKey{Kind: kindReplaced, ID: serial}
}

// PutReplacement records, in tx, that r replaced certificate serial.
func PutReplacement(tx store.Tx, serial string, r Replacement) error {
	return Put(tx, kindReplaced, serial, r)
}

// ReplacementOf returns what replaced certificate serial, if anything
// did (ok).
func ReplacementOf(tx store.Tx, serial string) (r Replacement, ok bool, err error) {
	switch err := Get(tx, kindReplaced, serial, &r); {
	case errors.Is(err, store.ErrNotFound):
		return Replacement{}, false, nil
	case errors.Is(err, raerr.ErrInternal):
		return Replacement{}, false, err
	case err != nil:
		return Replacement{}, false, fmt.Errorf("%w: replacement of %s: %w", raerr.ErrInternal, serial, err)
	}
	return r, true, nil
}
