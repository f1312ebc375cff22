package raerr

import (
	"errors"
	"syscall"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca/caerr"
	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/ra/auditcheck"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/store"
)

// Stable error codes. Every error the RA returns wraps exactly one of these
// (or a store/ca sentinel) with %w; the API puts the code in
// {"error":{"code":...}} and picks the HTTP status with StatusOf.
var (
	ErrUnauthenticated = errors.New("E_RA_UNAUTHENTICATED")   // no verified officer credential
	ErrOfficerInactive = errors.New("E_RA_OFFICER_INACTIVE")  // officer removed, or credential superseded
	ErrForbidden       = errors.New("E_RA_FORBIDDEN")         // the policy refuses this actor this action
	ErrBadRequest      = errors.New("E_RA_BAD_REQUEST")       // malformed request: JSON, missing field
	ErrInvalidID       = errors.New("E_RA_INVALID_ID")        // not an EUI-64 / officer ID
	ErrInvalidRole     = errors.New("E_RA_INVALID_ROLE")      // unknown User Role or officer kind
	ErrInvalidProfile  = errors.New("E_RA_INVALID_PROFILE")   // unknown certificate profile
	ErrNotEligible     = errors.New("E_RA_NOT_ELIGIBLE")      // the User Role may not hold the profile
	ErrCSRInvalid      = errors.New("E_RA_CSR_INVALID")       // CSR does not parse, bad signature or key
	ErrCSRMismatch     = errors.New("E_RA_CSR_MISMATCH")      // CSR subject does not match user/profile
	ErrCSRNotCanonical = errors.New("E_RA_CSR_NOT_CANONICAL") // CSR key not in canonical DER (one key, one identity)
	ErrKeyReuse        = errors.New("E_RA_KEY_REUSE")         // key already certified (for another user)
	ErrCSRRequired     = errors.New("E_RA_CSR_REQUIRED")      // this RA certifies only appointee-generated officer keys
	ErrReplaced        = errors.New("E_RA_REPLACES_MISMATCH") // renew/rekey target does not fit
	ErrBadSerial       = errors.New("E_RA_BAD_SERIAL")        // not a serial (hex, at most 20 octets): malformed, not "not found"
	ErrNotFound        = errors.New("E_RA_NOT_FOUND")
	ErrExists          = errors.New("E_RA_EXISTS")
	ErrReservedID      = errors.New("E_RA_RESERVED_ID")     // a system identity of the RA itself
	ErrInactive        = errors.New("E_RA_INACTIVE")        // party or user not active
	ErrSROExists       = errors.New("E_RA_SRO_EXISTS")      // party already has an active SRO
	ErrAlreadyRevoked  = errors.New("E_RA_ALREADY_REVOKED") // certificate already revoked
	ErrBadReason       = errors.New("E_RA_BAD_REASON")      // revocation reason unknown or not allowed
	ErrTooLarge        = errors.New("E_RA_TOO_LARGE")       // request body over the limit
	ErrAuditBroken     = errors.New("E_RA_AUDIT_BROKEN")    // the audit hash chain is broken
	ErrInternal        = errors.New("E_RA_INTERNAL")
	// ErrBusy: the store could not commit the change for contention even
	// after its retries; nothing was written, and the same request may be
	// sent again (the API answers 503 with Retry-After).
	ErrBusy = errors.New("E_RA_BUSY")
	// ErrStoreFull: the store could not write because its disk (or quota)
	// is full; nothing was written. The API answers 503 and /readyz fails
	// until space is freed (issue 12 finding 12).
	ErrStoreFull = errors.New("E_STORE_FULL")

	ErrFourEyes   = errors.New("E_RA_FOUR_EYES")   // the declarer of a SoLR event may not approve it
	ErrEventState = errors.New("E_RA_EVENT_STATE") // the SoLR event is not in a state that allows this
	// ErrDryRunChanged: an approval named the dry run it approves
	// (certificates_sha256) and the failed party's certificates are no
	// longer that set; nothing was approved.
	ErrDryRunChanged = errors.New("E_RA_DRY_RUN_CHANGED")
	ErrADTFormat     = adtfile.ErrFormat           // ADT file does not parse as smki-adt/1
	ErrADTSignature  = adtfile.ErrSignature        // ADT signature missing, malformed or not the officer's
	ErrADTUser       = errors.New("E_RA_ADT_USER") // ADT SC user inactive or not SC, or supplier user unknown or not one
	ErrADTSRV        = adtfile.ErrSRV              // ADT SRV malformed or not allowed for SC
	ErrADTThreshold  = adtfile.ErrThreshold        // ADT period not positive, or warning > quarantine
	ErrDeviceFile    = devicefile.ErrMalformed     // devices.csv malformed (the message names the line)
	// ErrDeviceExport: the registry holds a device a device file cannot
	// carry exactly (a change still to come); nothing was exported.
	ErrDeviceExport  = errors.New("E_RA_DEVICE_EXPORT")
	ErrPolicyInvalid = errors.New("E_RA_POLICY_INVALID") // allow-list names an unknown SRV or repeats one

	ErrBackupUnsupported = errors.New("E_RA_BACKUP_UNSUPPORTED") // the store engine has no online backup (PostgreSQL: use pg_dump)

	// The RA's own PKI (ra/ownpki returns these under the same names).
	ErrSigner       = errors.New("E_RA_SIGNER")        // every failure of the RA's system signer
	ErrAccessCA     = errors.New("E_RA_ACCESS_CA")     // every failure of the RA access CA
	ErrPlaintextKey = errors.New("E_RA_PLAINTEXT_KEY") // an old plaintext key cannot be migrated (see ra/ownpki)
)

// Class is what kind of refusal an error is, independent of any
// transport: the HTTP server maps it to a status (raserver.StatusOf).
type Class int

// Classes of error.
const (
	ClassInternal        Class = iota // a fault of the RA or its store: not the caller's
	ClassUnauthenticated              // no verified officer credential
	ClassForbidden                    // the caller may not do this
	ClassInvalid                      // the request is malformed or names a bad value
	ClassNotFound                     // what the request names does not exist
	ClassConflict                     // the request clashes with the current state
	ClassTooLarge                     // the request is over a size limit
	ClassUnavailable                  // a dependency (the signer) is not ready
	ClassBusy                         // contention outlasted the retries; nothing written, send it again
)

// busy lists the sentinels that mean "nothing was written for contention,
// try again": they win over every other code in the chain, so a conflict
// that some layer wrapped as internal (fmt.Errorf("%w: ...: %w",
// ErrInternal, err)) still reads E_RA_BUSY. Both engines say it with
// store.ErrConflict (bbolt never does: it has one writer).
var busy = []error{ErrBusy, store.ErrConflict}

// isFull reports whether err says the disk is full, however it was
// wrapped: ErrStoreFull, the store's ErrFull (PostgreSQL's disk_full), or
// the operating system's ENOSPC or EDQUOT from the store's file writes.
func isFull(err error) bool {
	return errors.Is(err, ErrStoreFull) || errors.Is(err, store.ErrFull) ||
		errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

func isBusy(err error) bool {
	for _, b := range busy {
		if errors.Is(err, b) {
			return true
		}
	}
	return false
}

// codes lists every known sentinel with its class, RA codes first so
// that an RA error wrapping a store error reports the RA's code.
var codes = []struct {
	err   error
	class Class
}{
	{ErrUnauthenticated, ClassUnauthenticated},
	{ErrOfficerInactive, ClassForbidden},
	{ErrForbidden, ClassForbidden},
	{ErrBadRequest, ClassInvalid},
	{ErrInvalidID, ClassInvalid},
	{ErrInvalidRole, ClassInvalid},
	{ErrInvalidProfile, ClassInvalid},
	{ErrNotEligible, ClassForbidden},
	{ErrCSRNotCanonical, ClassInvalid},
	{ErrCSRInvalid, ClassInvalid},
	{ErrCSRRequired, ClassInvalid},
	{ErrCSRMismatch, ClassInvalid},
	{ErrKeyReuse, ClassConflict},
	{ErrReplaced, ClassInvalid},
	{ErrBadSerial, ClassInvalid},
	{ErrNotFound, ClassNotFound},
	{ErrExists, ClassConflict},
	{ErrReservedID, ClassConflict},
	{ErrInactive, ClassConflict},
	{ErrSROExists, ClassConflict},
	{ErrAlreadyRevoked, ClassConflict},
	{ErrBadReason, ClassInvalid},
	{ErrTooLarge, ClassTooLarge},
	{ErrAuditBroken, ClassConflict},
	{ErrInternal, ClassInternal},
	{ErrBusy, ClassBusy},
	{ErrStoreFull, ClassUnavailable},
	{ErrFourEyes, ClassForbidden},
	{ErrEventState, ClassConflict},
	{ErrDryRunChanged, ClassConflict},
	{ErrADTFormat, ClassInvalid},
	{ErrADTSignature, ClassInvalid},
	{ErrADTUser, ClassInvalid},
	{ErrADTSRV, ClassInvalid},
	{ErrADTThreshold, ClassInvalid},
	{ErrDeviceFile, ClassInvalid},
	{ErrDeviceExport, ClassConflict},
	{ErrPolicyInvalid, ClassInvalid},
	{ErrBackupUnsupported, ClassConflict},
	{ErrSigner, ClassUnavailable},
	{caerr.ErrBadCSR, ClassInvalid},
	{caerr.ErrCSRNotCanonical, ClassInvalid},
	{caerr.ErrKeyAlgorithm, ClassInvalid},
	{caerr.ErrCSRSignature, ClassInvalid},
	{caerr.ErrSubjectField, ClassInvalid},
	{caerr.ErrTooLarge, ClassTooLarge},
	{caerr.ErrBadRequest, ClassInvalid},
	{caerr.ErrKeyReused, ClassConflict},
	{caerr.ErrNotFound, ClassNotFound},
	{caerr.ErrAlreadyRevoked, ClassConflict},
	{caerr.ErrBadReason, ClassInvalid},
	{caerr.ErrRootOffline, ClassConflict}, // this instance runs without the root key
	{store.ErrNotFound, ClassNotFound},
	{store.ErrExists, ClassConflict},
	{store.ErrDuplicateKey, ClassConflict},
	{store.ErrAlreadyRevoked, ClassConflict},
	// The rest of the codes an RA call can carry, so that CodeOf knows
	// every code by value and never reads a message.
	{ErrAccessCA, ClassInternal},
	{ErrPlaintextKey, ClassInternal},
	{auditcheck.ErrAuditCheckpoint, ClassConflict},
	{auditcheck.ErrCheckpointInvalid, ClassInvalid},
	{caerr.ErrUnknownProfile, ClassInvalid},
	{caerr.ErrLint, ClassInternal},
	{caerr.ErrNotInitialised, ClassInternal},
	{caerr.ErrAlreadyInitialised, ClassConflict},
	{caerr.ErrConfig, ClassInternal},
	{caerr.ErrKeyImportRefused, ClassInternal},
	{caerr.ErrKeyFileMode, ClassInternal},
	{caerr.ErrKMSPIN, ClassInternal},
	{caerr.ErrCAExpired, ClassUnavailable}, // nothing can be issued until a new Issuing OCA: not the request's fault
	{caerr.ErrSigning, ClassInternal},
	{caerr.ErrKeyUnavailable, ClassUnavailable}, // the HSM is away: try again later
	{caerr.ErrIntentSettled, ClassConflict},
	{caerr.ErrStore, ClassInternal},
	{caerr.ErrARLInvalid, ClassInvalid},
	{caerr.ErrARLIssuer, ClassInvalid},
	{caerr.ErrARLNumber, ClassInvalid},
	{caerr.ErrARLNotYetValid, ClassInvalid},
	{caerr.ErrARLExpired, ClassInvalid},
	{caerr.ErrARLIncomplete, ClassInvalid},
	{store.ErrDuplicateSerial, ClassConflict},
	{store.ErrInvalid, ClassInvalid},
	{store.ErrReadOnly, ClassConflict},
	{store.ErrClosed, ClassUnavailable},
	{store.ErrCorrupt, ClassInternal},
	{store.ErrTooNew, ClassInternal},
	{store.ErrConflict, ClassBusy},
	{bundle.ErrBundleInvalid, ClassInternal},
	{bundle.ErrFeedInvalid, ClassInternal},
	{bundle.ErrEnvelopeSigner, ClassInternal},
	{bundle.ErrEnvelopeSignature, ClassInternal},
	{bundle.ErrEnvelopeFormat, ClassInternal},
	{bundle.ErrEnvelopeTooLarge, ClassInternal},
}

// ClassOf returns the class of err: ClassUnavailable if its chain holds a
// full disk or store.ErrClosed, ClassBusy if it holds a busy sentinel,
// else that of the first known sentinel in its chain (see
// CodeOf), ClassInternal otherwise.
func ClassOf(err error) Class {
	if isFull(err) || errors.Is(err, store.ErrClosed) {
		return ClassUnavailable
	}
	if isBusy(err) {
		return ClassBusy
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.class
		}
	}
	return ClassInternal
}

// ClassOfCode returns the class of the error whose stable code is code
// (one that came over the wire), ClassInternal for an unknown code.
func ClassOfCode(code string) Class {
	for _, c := range codes {
		if c.err.Error() == code {
			return c.class
		}
	}
	return ClassInternal
}

// CodeOf returns the stable code of err: E_STORE_FULL if its chain holds
// a full disk, E_STORE_CLOSED if it holds store.ErrClosed (the store was
// closed under the call: a shutdown, not a fault), E_RA_BUSY if it holds
// store.ErrConflict or ErrBusy, wherever (none of these is ever reported
// as internal); else that of the first known sentinel in its chain (RA codes
// before those of ca, store and bundle it wraps), else E_RA_INTERNAL.
// Codes are values: a message is never read, so an error that merely
// starts with "E_" has no code of its own.
func CodeOf(err error) string {
	if err == nil {
		return ""
	}
	if isFull(err) {
		return ErrStoreFull.Error()
	}
	if errors.Is(err, store.ErrClosed) {
		return store.ErrClosed.Error()
	}
	if isBusy(err) {
		return ErrBusy.Error()
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.err.Error()
		}
	}
	return ErrInternal.Error()
}
