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

// What to do next, said after "; " at the end of a rejection's reason
// (docs/verifier.md, "Decision"), for the reasons of one code that share
// it; a reason with a step of its own says it in place.
const (
	nextMalformed = "send it again as one well-formed DUIS request within the verifier's limits " +
		"(no DTD, comment or processing instruction), then signed"
	nextSig = "sign the request again with the key of the certificate KeyInfo names (one enveloped signature, " +
		"exc-c14n, ECDSA P-256 with SHA-256, raw r||s) and change nothing after signing"
	nextStale = "the verifier's operator must bring its bundle and revocation data up to date " +
		"(follow the RA with smki verifier serve --ra, or load a newer smki trust export); then send the request again"
	nextClock = "this machine's clock or the RA's is wrong: check both (NTP); " +
		"then send the request again once the verifier holds data dated before now"
	nextCertUnknown = "sign with a certificate the RA issued to this user; if it was issued just now, " +
		"send the request again once the verifier has the RA's next bundle"
	nextCertInvalid = "sign with a current XML signing certificate (OU=87) the RA issued to this user with its role " +
		"(smki enroll, --mode renew or rekey for one that expires)"
	nextRevoked = "stop using this certificate and sign with a new one the RA issues (smki enroll --mode rekey); " +
		"if the revocation is a mistake, ask the RA"
	nextUser = "ask the RA to register or correct this user (smki user list shows it), " +
		"then send the request again once the verifier has the RA's next bundle"
	nextAllowed = "send only what the user's role may send (docs/policy.md; smki policy show lists the allow-lists), " +
		"or ask the RA to change the allow-list"
	nextGBCS = "for an SC user, send SR 1.6 with one signed GBCS command (ECS02 or GCS02) that changes the payment mode " +
		"to Credit, addressed to the RequestID's target and originated by the Supplier the device is registered to"
	nextDevice = "check the RequestID's target; if the device registry is wrong, ask the RA to import the corrected " +
		"registry (smki devices import) and send the request again once the verifier has the next bundle"
	nextSoLR = "an SC user may send only while an approved SoLR event names it and covers the device's failed Supplier: " +
		"ask the RA about the event (smki solr show)"
	nextADT = "the SRP's SRO must submit an ADT file covering this supplier and SRV (smki adt submit); " +
		"send the request again once the verifier has the RA's next bundle"
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
