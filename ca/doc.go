// Package ca owns the SMKI Organisation CA hierarchy: the Root OCA and the
// Issuing OCA, their keys behind a KMS (softkms files by default, PKCS#11 for
// an HSM), the certificate profiles (xml-signing, digital-signing,
// key-agreement, and the system profile dsp-xml-signing), serials,
// issuance, revocation records and the ARL and ORL. Its KeyStore
// (CA.KeyStore) also holds the service's other private keys — the RA access
// CA and the RA system signer — so that none is ever a plaintext file.
//
// Issuance follows Boulder's order (ca/issue.go, numbered steps): check the
// request, pick a unique serial, build and lint the to-be-signed
// certificate, record the intent, sign, check the signed TBS is the linted
// one, record the certificate. A crash between any two steps leaves nothing
// signed that the store does not know about; Open reconciles intents left
// open. Profiles, lints and CRLs are described in docs/profiles.md.
//
// The CA does not decide who may have which certificate; that is ra/.
// It does not parse certificates for others: use internal/dccx509, since
// crypto/x509 cannot parse SMKI subjects.
package ca
