// Package ocsp is smki's OCSP responder (RFC 6960, in the RFC 5019
// lightweight profile): it answers "is this Organisation Certificate good
// now?" for any relying party, at GET and POST /ocsp.
//
// It owns the delegated responder key (made in memory, never stored), the
// rotation of its short-lived certificate (issued by the Issuing OCA
// through a Certifier, normally *ca.CA, with id-kp-OCSPSigning and
// id-pkix-ocsp-nocheck), and a cache of pre-signed responses for every
// certificate the Issuing OCA issued, kept current by following the
// store's issuance and revocation sequences (the same revocation sequence
// the verifiers' feed follows). Signing and the HTTP protocol are
// cloudflare/cfssl's ocsp package (StandardSigner, Responder); requests
// are parsed and responses built by golang.org/x/crypto/ocsp, never by
// hand-written ASN.1, except the outer structure of a request, read with
// cryptobyte to refuse a requestList of more than one Request, which
// x/crypto/ocsp would silently cut to its first (oneRequest).
//
// It also publishes the responses in the store (records of kind
// RecordKind) and answers from them without a key (Published, for smki
// repo serve).
//
// It does not decide revocation (ca, ra) and serves no certificates (the
// repository package does).
package ocsp
