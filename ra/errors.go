package ra

import (
	"errors"
	"github.com/smki/smki/ca/caerr"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/store"
)

// The RA's stable error codes are owned by ra/raerr; these names keep
// ra.ErrX, ra.CodeOf and ra.ClassOf working for its callers (errors.Is
// matches either name: they are the same values).
var (
	ErrUnauthenticated = raerr.ErrUnauthenticated
	ErrOfficerInactive = raerr.ErrOfficerInactive
	ErrForbidden       = raerr.ErrForbidden
	ErrBadRequest      = raerr.ErrBadRequest
	ErrInvalidID       = raerr.ErrInvalidID
	ErrInvalidRole     = raerr.ErrInvalidRole
	ErrInvalidProfile  = raerr.ErrInvalidProfile
	ErrNotEligible     = raerr.ErrNotEligible
	ErrCSRInvalid      = raerr.ErrCSRInvalid
	ErrCSRMismatch     = raerr.ErrCSRMismatch
	ErrCSRNotCanonical = raerr.ErrCSRNotCanonical
	ErrKeyReuse        = raerr.ErrKeyReuse
	ErrCSRRequired     = raerr.ErrCSRRequired
	ErrReplaced        = raerr.ErrReplaced
	ErrBadSerial       = raerr.ErrBadSerial
	ErrNotFound        = raerr.ErrNotFound
	ErrExists          = raerr.ErrExists
	ErrReservedID      = raerr.ErrReservedID
	ErrInactive        = raerr.ErrInactive
	ErrSROExists       = raerr.ErrSROExists
	ErrAlreadyRevoked  = raerr.ErrAlreadyRevoked
	ErrBadReason       = raerr.ErrBadReason
	ErrTooLarge        = raerr.ErrTooLarge
	ErrAuditBroken     = raerr.ErrAuditBroken
	ErrInternal        = raerr.ErrInternal
	ErrBusy            = raerr.ErrBusy
	ErrStoreFull       = raerr.ErrStoreFull
	// ErrStoreClosed (E_STORE_CLOSED, the store's own code): the store
	// was closed under the call, as when the server shuts down; the same
	// request may be sent again.
	ErrStoreClosed = store.ErrClosed
	// ErrCAKeyUnavailable (E_CA_KEY_UNAVAILABLE, the CA's own code): the
	// CA's HSM cannot be reached now; nothing was signed, and the same
	// request may be sent again once it is back.
	ErrCAKeyUnavailable = caerr.ErrKeyUnavailable
	// ErrCAExpired (E_CA_EXPIRED, the CA's own code): the Issuing OCA has
	// expired; nothing can be issued until a new one is in service.
	ErrCAExpired = caerr.ErrCAExpired
	// ErrRootExpired marks an ErrCAExpired caused by the Root OCA's
	// expiry (no code of its own): a new Root OCA is needed, not a new
	// Issuing OCA.
	ErrRootExpired = caerr.ErrRootExpired
	// ErrNoSystemSigner marks a refusal of the bundle or the feed because
	// the RA has no system signer and could not make one
	// (WithoutSystemSigner). It carries no code of its own: the answer's
	// is its cause's (E_CA_EXPIRED).
	ErrNoSystemSigner    = errors.New("no RA system signer")
	ErrFourEyes          = raerr.ErrFourEyes
	ErrEventState        = raerr.ErrEventState
	ErrDryRunChanged     = raerr.ErrDryRunChanged
	ErrADTFormat         = raerr.ErrADTFormat
	ErrADTSignature      = raerr.ErrADTSignature
	ErrADTUser           = raerr.ErrADTUser
	ErrADTSRV            = raerr.ErrADTSRV
	ErrADTThreshold      = raerr.ErrADTThreshold
	ErrDeviceFile        = raerr.ErrDeviceFile
	ErrDeviceExport      = raerr.ErrDeviceExport
	ErrPolicyInvalid     = raerr.ErrPolicyInvalid
	ErrBackupUnsupported = raerr.ErrBackupUnsupported
)

// Class is raerr.Class: what kind of refusal an error is.
type Class = raerr.Class

// Classes of error (raerr).
const (
	ClassInternal        = raerr.ClassInternal
	ClassUnauthenticated = raerr.ClassUnauthenticated
	ClassForbidden       = raerr.ClassForbidden
	ClassInvalid         = raerr.ClassInvalid
	ClassNotFound        = raerr.ClassNotFound
	ClassConflict        = raerr.ClassConflict
	ClassTooLarge        = raerr.ClassTooLarge
	ClassUnavailable     = raerr.ClassUnavailable
	ClassBusy            = raerr.ClassBusy
)

// ClassOf is raerr.ClassOf.
func ClassOf(err error) Class { return raerr.ClassOf(err) }

// ClassOfCode is raerr.ClassOfCode.
func ClassOfCode(code string) Class { return raerr.ClassOfCode(code) }

// CodeOf is raerr.CodeOf.
func CodeOf(err error) string { return raerr.CodeOf(err) }
