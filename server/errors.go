package server

import "errors"

// Stable error codes. Every error Open returns for a bad Config wraps
// ErrConfig; a listener that cannot be bound wraps ErrListen. Callers
// branch with errors.Is.
var (
	// ErrConfig: the Config is unusable (no passphrase, a malformed store
	// spec or listen address, a TLS name that is neither a DNS name nor an
	// IP address, an unreadable operator certificate). Fix the setting the
	// message names and start again.
	ErrConfig = errors.New("E_SERVER_CONFIG")
	// ErrListen: the listen address cannot be bound (in use, not local,
	// not permitted). Nothing was written to the data directory.
	ErrListen = errors.New("E_SERVER_LISTEN")
	// ErrShutdown: requests were still running when the shutdown's grace
	// and drain had passed, so the store was closed under them. What they
	// left open (an issuance intent) is settled at the next start.
	ErrShutdown = errors.New("E_SERVER_SHUTDOWN")
)
