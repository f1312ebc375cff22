package xmldsig

import "errors"

// Stable error codes. Every error Parse and Verify return wraps exactly one
// of them (errors.Is), with context after the code (Limits.Check's is
// ErrLimits).
var (
	// ErrMalformed: not well-formed, over a Limit, a DTD, an entity reference
	// other than the five predefined ones and character references, a
	// comment, a processing instruction, or an undeclared namespace prefix.
	ErrMalformed = errors.New("MALFORMED")
	// ErrSignature: the signature is missing, has the wrong shape, uses an
	// algorithm the profile does not allow, or does not verify.
	ErrSignature = errors.New("SIG")
)
