// Package raapi is the wire format of the RA's HTTP API (docs/api.md),
// shared by the server (ra/raserver) and the Go client (raclient): the
// RA's requests and answers (EnrolRequest, Officer, RevokeResult, ...,
// which package ra re-exports and checks), the JSON request bodies, the
// error body, the media types, the lines of the NDJSON revocation stream,
// and the HTTP status of each ra error class.
//
// It holds data and mappings only: no handler, no client, no decision. It
// must not import ra or ca (internal/layering checks it), so that a client
// links the contract and not the RA's or the CA's internals.
package raapi
