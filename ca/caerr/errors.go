// Package caerr owns the CA's stable error codes as values (E_CSR_INVALID,
// E_CERT_NOT_FOUND, ...): package ca returns them (under the same names) and
// the RA's code table (ra/raerr) knows them, so a client that only reads a
// code off the wire never links the CA. It decides nothing and imports
// nothing of smki.
package caerr

import "errors"

// Stable error codes. Every error package ca returns wraps exactly one of
// these with %w and context, so callers branch with errors.Is, never on text.
var (
	// ErrUnknownProfile: a profile name that is not one of Profiles().
	ErrUnknownProfile = errors.New("E_PROFILE_UNKNOWN")
	// ErrBadCSR: the CSR is not a well-formed PKCS#10 request (garbage,
	// truncated, wrong PEM type, trailing data).
	ErrBadCSR = errors.New("E_CSR_INVALID")
	// ErrCSRNotCanonical: the CSR's SubjectPublicKeyInfo is not the
	// canonical DER of its key (trailing elements in the SPKI or its
	// AlgorithmIdentifier, which crypto/x509 parses to the same key): one
	// key must have one encoding, or it has several identities.
	ErrCSRNotCanonical = errors.New("E_CSR_NOT_CANONICAL")
	// ErrKeyAlgorithm: the CSR's key is not ECDSA P-256.
	ErrKeyAlgorithm = errors.New("E_CSR_KEY_ALGORITHM")
	// ErrCSRSignature: the CSR's self-signature does not verify.
	ErrCSRSignature = errors.New("E_CSR_SIGNATURE")
	// ErrSubjectField: the CSR subject holds a field the profile does not
	// allow, or a field whose value does not match the request.
	ErrSubjectField = errors.New("E_CSR_SUBJECT")
	// ErrTooLarge: input larger than the package accepts (MaxCSRSize).
	ErrTooLarge = errors.New("E_INPUT_TOO_LARGE")
	// ErrLint: zlint (RFC 5280 or SMKI profile lints) reported an error or
	// fatal result for the to-be-signed certificate or CRL; nothing is signed.
	ErrLint = errors.New("E_LINT")
	// ErrBadRequest: an issuance request field is missing or invalid (zero
	// User ID, unknown User Role, validity too short, bad common name).
	ErrBadRequest = errors.New("E_ISSUE_REQUEST")
	// ErrKeyReused: the CSR's key is already certified for another User ID.
	ErrKeyReused = errors.New("E_KEY_REUSED")
	// ErrNotInitialised: Open on a store where Init has not run.
	ErrNotInitialised = errors.New("E_CA_NOT_INITIALISED")
	// ErrAlreadyInitialised: Init on a store that already holds a CA.
	ErrAlreadyInitialised = errors.New("E_CA_ALREADY_INITIALISED")
	// ErrConfig: the Config is unusable (no passphrase for softkms, a KMS
	// that differs from the one the CA was created with, a key that does not
	// match its certificate, a wrong passphrase).
	ErrConfig = errors.New("E_CA_CONFIG")
	// ErrKeyFileMode: a softkms key file may be read or written by users
	// other than its owner (group or other permission bits set); it is
	// refused, never used, until it is chmod 600.
	ErrKeyFileMode = errors.New("E_CA_KEY_FILE_MODE")
	// ErrKeyImportRefused: an existing private key was offered to a KMS
	// that holds only keys generated inside it (PKCS#11).
	ErrKeyImportRefused = errors.New("E_KMS_IMPORT_REFUSED")
	// ErrKMSPIN: the PKCS#11 token refused the PIN (wrong, locked,
	// expired), or the URI's pin-source cannot give one (unreadable,
	// empty; then no login is tried). smki serve exits 2 on it and is not
	// restarted: a token locks its PIN after a few wrong ones.
	ErrKMSPIN = errors.New("E_KMS_PIN")
	// ErrCAExpired: the Issuing OCA certificate has expired, so nothing
	// can be issued under it; a new Issuing OCA is needed.
	ErrCAExpired = errors.New("E_CA_EXPIRED")
	// ErrRootExpired marks an ErrCAExpired whose cause is the Root OCA's
	// expiry (RootExpired): a new Issuing OCA would not help, a new Root
	// OCA must be made. It is no code of its own.
	ErrRootExpired = errors.New("the Root OCA certificate has expired")
	// ErrNotFound: no certificate with that serial.
	ErrNotFound = errors.New("E_CERT_NOT_FOUND")
	// ErrAlreadyRevoked: the certificate is already revoked.
	ErrAlreadyRevoked = errors.New("E_CERT_ALREADY_REVOKED")
	// ErrBadReason: a revocation reason that is not a usable RFC 5280
	// CRLReason (7 is unused, 8 removeFromCRL is for delta CRLs only).
	ErrBadReason = errors.New("E_REVOCATION_REASON")
	// ErrSigning: the signer failed, or the signed certificate differs from
	// the linted one; the intent is left for reconciliation.
	ErrSigning = errors.New("E_CA_SIGNING")
	// ErrKeyUnavailable: the CA's key store cannot be reached now (a
	// PKCS#11 token gone away, not found again when reopened); nothing was
	// signed, and a later request may succeed once it is back.
	ErrKeyUnavailable = errors.New("E_CA_KEY_UNAVAILABLE")
	// ErrIntentSettled: an issuance's intent was marked failed (by
	// Reconcile, possibly on another instance) before its certificate was
	// recorded; the signed certificate is discarded, never returned.
	ErrIntentSettled = errors.New("E_CA_INTENT_SETTLED")
	// ErrStore: the store refused or failed a write the CA needed.
	ErrStore = errors.New("E_CA_STORE")
	// ErrRootOffline: the operation needs the Root OCA key (issuing an
	// ARL, and so revoking an issuing CA) but the CA was opened with
	// Config.OfflineRoot; run it at the root key ceremony instead.
	ErrRootOffline = errors.New("E_CA_ROOT_OFFLINE")
	// ErrARLInvalid: an ARL offered to ImportARL is not one CRL (garbage,
	// truncated, trailing data, wrong PEM type), lists the root itself, or
	// claims a lifetime longer than MaxARLLifetime.
	ErrARLInvalid = errors.New("E_CA_ARL_INVALID")
	// ErrARLIssuer: the ARL's issuer is not the stored Root OCA: another
	// name, or a signature that does not verify under the root's key.
	ErrARLIssuer = errors.New("E_CA_ARL_ISSUER")
	// ErrARLNumber: the ARL has no CRL number, or one not greater than the
	// stored ARL's (a replay of an older ARL, or one from another store).
	ErrARLNumber = errors.New("E_CA_ARL_NUMBER")
	// ErrARLNotYetValid: the ARL's thisUpdate is later than now plus
	// ARLImportSkew.
	ErrARLNotYetValid = errors.New("E_CA_ARL_NOT_YET_VALID")
	// ErrARLExpired: the ARL has no nextUpdate, or it has passed.
	ErrARLExpired = errors.New("E_CA_ARL_EXPIRED")
	// ErrARLIncomplete: the ARL omits a certificate the store holds as
	// revoked by the root; importing it would un-revoke that issuing CA.
	ErrARLIncomplete = errors.New("E_CA_ARL_INCOMPLETE")
)

// RootExpired marks err, an ErrCAExpired, as caused by the Root OCA's
// expiry: errors.Is(RootExpired(err), ErrRootExpired) holds, and its text
// and the codes it wraps are err's.
func RootExpired(err error) error { return rootExpired{err} }

type rootExpired struct{ error }

func (e rootExpired) Unwrap() error        { return e.error }
func (e rootExpired) Is(target error) bool { return target == ErrRootExpired }
