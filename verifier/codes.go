package verifier

import "errors"

// Reason codes (contract, docs/verifier.md "Checks, in order"). A Decision that rejects
// carries exactly one of them; an accepting Decision carries "".
const (
	CodeE1        = "E1"        // unknown bundle.User ID, or role binding does not match the bundle.User's role
	CodeE2        = "E2"        // SRV not allowed for the role, or content not allowed
	CodeE4        = "E4"        // not eligible for this device now: not its registrant in the role's capacity, not in the registry, or outside SoLR scope
	CodePARTY     = "PARTY"     // the user's party is suspended, failed or closed
	CodeAD1       = "AD1"       // anomaly detection threshold reached: quarantined
	CodeSIG       = "SIG"       // signature missing, malformed, invalid or unsupported
	CodeCERT      = "CERT"      // signer certificate unknown, untrusted, expired, wrong usage
	CodeREVOKED   = "REVOKED"   // signer certificate revoked
	CodeREPLAY    = "REPLAY"    // counter not greater than the last accepted one
	CodeSTALE     = "STALE"     // bundle or revocation data older than the maximum age, or from the future (beyond the clock skew)
	CodeMALFORMED = "MALFORMED" // not well-formed, too large, too deep, DTD, schema violation
	CodeSTATE     = "STATE"     // the replay/ADT state cannot be made durable: the request would be accepted but is refused (fail closed)
)

// Decision values.
const (
	Accept = "accept"
	Reject = "reject"
)

// Errors of the verifier's configuration and replay store (those of the
// bundle and the feed are package bundle's). Each is wrapped with context; callers test with errors.Is.
var (
	// ErrConfig: Options (roots, CRLs, bundle) are unusable.
	ErrConfig = errors.New("E_VERIFIER_CONFIG")
	// ErrReplayStore: the replay store could not load or persist a counter.
	ErrReplayStore = errors.New("E_REPLAY_STORE")
	// ErrStateDamaged: the state log lost records that had been answered
	// (a zero byte, a line failing its checksum, a missing line or group
	// before intact ones): it is refused unless StateFileOptions.Recover.
	ErrStateDamaged = errors.New("E_STATE_DAMAGED")
	// ErrStateRollback: the state log is older than the one this
	// verifier last wrote at its path (a backup restored), another one (a
	// copy of another verifier's), or missing while its mark is there: its
	// counters may be lower than ones already accepted. It is refused
	// unless StateFileOptions.Recover.
	ErrStateRollback = errors.New("E_STATE_ROLLBACK")
)
