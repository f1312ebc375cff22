// Package raclient is the Go client of the RA's HTTP API, used by the
// command line, the demo and the end-to-end tests: one method per
// endpoint, the officer's credential directory (key.pem, cert.pem,
// ca.pem) for mTLS, and the server's error body turned back into an error
// that matches ra's sentinels with errors.Is (APIError).
//
// It decides nothing: what the RA answers is the RA's. It must not import
// the server (ra/raserver); the wire format is ra/raapi's.
package raclient
