package bundle

import "errors"

// Errors of the signed envelope, the bundle and the revocation feed. Each
// is wrapped with context; callers test with errors.Is.
var (
	// ErrEnvelopeTooLarge: the signed envelope exceeds its size cap.
	ErrEnvelopeTooLarge = errors.New("E_ENVELOPE_TOO_LARGE")
	// ErrEnvelopeFormat: not a well-formed envelope of the expected format.
	ErrEnvelopeFormat = errors.New("E_ENVELOPE_FORMAT")
	// ErrEnvelopeSigner: the signer certificate does not chain to a trusted
	// root, is not valid now, or lacks digitalSignature / OU=89.
	ErrEnvelopeSigner = errors.New("E_ENVELOPE_SIGNER")
	// ErrSignerRevoked: the envelope's signer certificate is revoked by a
	// source the verifier holds (its CRLs, the revocation feed, or the
	// bundle itself). The RA must sign with a new system signer (docs/bundle.md,
	// "Signer rotation").
	ErrSignerRevoked = errors.New("E_ENVELOPE_SIGNER_REVOKED")
	// ErrEnvelopeSignature: the signature over the payload does not verify.
	ErrEnvelopeSignature = errors.New("E_ENVELOPE_SIGNATURE")
	// ErrBundleInvalid: the payload decodes but breaks a bundle invariant.
	ErrBundleInvalid = errors.New("E_BUNDLE_INVALID")
	// ErrFeedInvalid: the feed page decodes but breaks a feed invariant.
	ErrFeedInvalid = errors.New("E_FEED_INVALID")
)
