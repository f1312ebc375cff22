// Package certcmd holds the verbs of an Organisation Certificate's life
// as a user's officer sees it: smki keygen and csr (made locally), enroll,
// certs, cert get and inspect, and revoke (with its terminal progress bar);
// and smki signer, the RA's own two-person revocation of its signer
// certificates.
// It owns their flags, the CSR intake check (PEM or DER, before anything
// is sent) and their output; eligibility, subjects and revocation are the
// RA's decisions, reached through verb.WithClient.
package certcmd
