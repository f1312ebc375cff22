// Package raserver serves package ra over HTTPS (docs/api.md,
// openapi.yaml): routing, mTLS officer authentication from the verified
// client certificate, strict request decoding, the JSON and NDJSON
// (revocation progress) answers, the error body with the status of each
// error class, and the RA's Prometheus metrics.
//
// It owns plumbing only: every decision (who may do what, what a request
// means for the store) is a call into ra.Service, and a handler never
// decides on its own. The wire bodies are ra/raapi's, shared with the Go
// client (raclient).
package raserver
