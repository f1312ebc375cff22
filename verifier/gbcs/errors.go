package gbcs

import "errors"

// Stable error codes. Every error this package returns wraps exactly one of
// them, with context (what and where) after it.
var (
	// ErrMalformed: truncated input, a length that overruns, trailing
	// bytes, an unknown frame tag or CRA flag, an impossible date-time, bad
	// hex.
	ErrMalformed = errors.New("E_GBCS_MALFORMED")
	// ErrNotCommand: a well-formed message that is not a command (a
	// response or an alert) where a command was required.
	ErrNotCommand = errors.New("E_GBCS_NOT_COMMAND")
	// ErrUnsigned: a command without a signature (a Pre-Command, or a
	// non-critical command) where a signed one was required.
	ErrUnsigned = errors.New("E_GBCS_UNSIGNED")
	// ErrNotCredit: a signed command whose use case is not a change of
	// payment mode to Credit (ECS02 or GCS02).
	ErrNotCredit = errors.New("E_GBCS_NOT_CREDIT")
	// ErrContent: the Message Code says "to Credit" but the payload does
	// not set the payment mode to Credit in the form the use case
	// defines (or sets something else too).
	ErrContent = errors.New("E_GBCS_CONTENT")
	// ErrCancellation: the to-Credit command cancels a pending
	// future-dated change instead of making one (ExecutionTime).
	ErrCancellation = errors.New("E_GBCS_CANCELLATION")
)
