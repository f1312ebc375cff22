// Package ca owns the SMKI Organisation CA hierarchy: the Root OCA and the
// Issuing OCA, their keys behind a KMS (softkms files by default, PKCS#11 for
// an HSM), the certificate profiles (xml-signing, digital-signing,
// key-agreement), serials, issuance, revocation records and the ARL and ORL.
//
// Issuance follows Boulder's order: check the request, pick a unique serial,
// build and lint the to-be-signed certificate, record the intent, sign,
// record the certificate. A crash between any two steps leaves nothing signed
// that the store does not know about.
//
// The CA does not decide who may have which certificate; that is ra/.
package ca
