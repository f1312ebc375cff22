package policy

import "errors"

// Stable error codes, wrapped with context by every error this package
// returns.
var (
	// ErrInvalid: the policy document is not valid JSON in the format, has
	// an unknown or duplicate field or key, a bad SRV, an unknown role, a
	// missing name or critical flag.
	ErrInvalid = errors.New("E_POLICY_INVALID")
	// ErrUnknownVariant: an SRV the policy does not define.
	ErrUnknownVariant = errors.New("E_POLICY_UNKNOWN_SRV")
)
