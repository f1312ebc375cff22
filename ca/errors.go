package ca

import (
	"fmt"

	"github.com/smki/smki/ca/caerr"
)

// Stable error codes (owned by ca/caerr, which documents each). Every error
// the package returns wraps exactly one of these with %w and context, so
// callers branch with errors.Is, never on text.
var (
	ErrUnknownProfile     = caerr.ErrUnknownProfile
	ErrBadCSR             = caerr.ErrBadCSR
	ErrCSRNotCanonical    = caerr.ErrCSRNotCanonical
	ErrKeyAlgorithm       = caerr.ErrKeyAlgorithm
	ErrCSRSignature       = caerr.ErrCSRSignature
	ErrSubjectField       = caerr.ErrSubjectField
	ErrTooLarge           = caerr.ErrTooLarge
	ErrLint               = caerr.ErrLint
	ErrBadRequest         = caerr.ErrBadRequest
	ErrKeyReused          = caerr.ErrKeyReused
	ErrNotInitialised     = caerr.ErrNotInitialised
	ErrAlreadyInitialised = caerr.ErrAlreadyInitialised
	ErrConfig             = caerr.ErrConfig
	ErrKeyImportRefused   = caerr.ErrKeyImportRefused
	ErrKeyFileMode        = caerr.ErrKeyFileMode
	ErrKMSPIN             = caerr.ErrKMSPIN
	ErrCAExpired          = caerr.ErrCAExpired
	ErrRootExpired        = caerr.ErrRootExpired
	ErrNotFound           = caerr.ErrNotFound
	ErrAlreadyRevoked     = caerr.ErrAlreadyRevoked
	ErrBadReason          = caerr.ErrBadReason
	ErrSigning            = caerr.ErrSigning
	ErrKeyUnavailable     = caerr.ErrKeyUnavailable
	ErrIntentSettled      = caerr.ErrIntentSettled
	ErrStore              = caerr.ErrStore
	ErrRootOffline        = caerr.ErrRootOffline
	ErrARLInvalid         = caerr.ErrARLInvalid
	ErrARLIssuer          = caerr.ErrARLIssuer
	ErrARLNumber          = caerr.ErrARLNumber
	ErrARLNotYetValid     = caerr.ErrARLNotYetValid
	ErrARLExpired         = caerr.ErrARLExpired
	ErrARLIncomplete      = caerr.ErrARLIncomplete
)

// RootExpired marks err, an ErrCAExpired, as caused by the Root OCA's
// expiry (caerr.RootExpired): errors.Is(err, ErrRootExpired) then holds.
func RootExpired(err error) error { return caerr.RootExpired(err) }

// errNoCA is the one refusal of a store that holds no CA yet: what to do
// is create one, or point at the store that holds it.
func errNoCA() error {
	return fmt.Errorf("%w: this store holds no CA yet: create one at the key ceremony with smki ca init "+
		"(smki serve --dev makes a test CA), or check that --data and --store name the store that holds it", ErrNotInitialised)
}
