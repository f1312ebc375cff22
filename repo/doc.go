// Package repo is the SMKI Repository: the read-only tree under /repo/
// from which any relying party fetches, without a client certificate, the
// CA certificates, every certificate the CA issued (by serial, as PEM or
// DER), a certificate's status as JSON, a search over them, and the ARL
// and ORL. Every answer carries an ETag, a Last-Modified and a
// Cache-Control derived from the data, and answers conditional GETs with
// 304. Requests are rate-limited per client address.
//
// The URL layout is a public contract (docs/repository.md). Mirror writes
// the same tree as files, incrementally by the store's issuance and
// revocation sequences, so that any web server or object store can serve
// it byte for byte as the live repository does.
package repo
