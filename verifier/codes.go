package verifier

import "errors"

// Reason codes (contract, DESIGN.md section 3). A Decision that rejects
// carries exactly one of them; an accepting Decision carries "".
const (
	CodeE1        = "E1"        // unknown User ID, or role binding does not match the User's role
	CodeE2        = "E2"        // SRV not allowed for the role, or content not allowed
	CodeE4        = "E4"        // not authorised for this device now (SoLR scope)
	CodeAD1       = "AD1"       // anomaly detection threshold reached: quarantined
	CodeSIG       = "SIG"       // signature missing, malformed, invalid or unsupported
	CodeCERT      = "CERT"      // signer certificate unknown, untrusted, expired, wrong usage
	CodeREVOKED   = "REVOKED"   // signer certificate revoked
	CodeREPLAY    = "REPLAY"    // counter not greater than the last accepted one
	CodeSTALE     = "STALE"     // bundle or revocation data older than the maximum age
	CodeMALFORMED = "MALFORMED" // not well-formed, too large, too deep, DTD, schema violation
)

// Decision values.
const (
	Accept = "accept"
	Reject = "reject"
)

// Errors of the bundle, the revocation feed and the verifier's
// configuration. Each is wrapped with context; callers test with errors.Is.
var (
	// ErrEnvelopeTooLarge: the signed envelope exceeds its size cap.
	ErrEnvelopeTooLarge = errors.New("E_ENVELOPE_TOO_LARGE")
	// ErrEnvelopeFormat: not a well-formed envelope of the expected format.
	ErrEnvelopeFormat = errors.New("E_ENVELOPE_FORMAT")
	// ErrEnvelopeSigner: the signer certificate does not chain to a trusted
	// root, is not valid now, or lacks digitalSignature / OU=89.
	ErrEnvelopeSigner = errors.New("E_ENVELOPE_SIGNER")
	// ErrEnvelopeSignature: the signature over the payload does not verify.
	ErrEnvelopeSignature = errors.New("E_ENVELOPE_SIGNATURE")
	// ErrBundleInvalid: the payload decodes but breaks a bundle invariant.
	ErrBundleInvalid = errors.New("E_BUNDLE_INVALID")
	// ErrFeedInvalid: the feed page decodes but breaks a feed invariant.
	ErrFeedInvalid = errors.New("E_FEED_INVALID")
	// ErrConfig: Options (roots, CRLs, bundle) are unusable.
	ErrConfig = errors.New("E_VERIFIER_CONFIG")
	// ErrReplayStore: the replay store could not load or persist a counter.
	ErrReplayStore = errors.New("E_REPLAY_STORE")
)
