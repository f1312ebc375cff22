// Package accessguard keeps retired officer credentials out of the RA
// (issue 12 finding 8): the access CA's revocation list of credentials
// that a removal or a renewal retired (List: recorded in the transaction
// that retires them, signed as a CRL, checked at the TLS handshake), and
// the coalescing of refused authentications into few audit records whose
// counts add up (Coalescer).
//
// It decides nothing about who may act: ra says which officer is active
// and writes the audit records; this package only remembers, signs and
// counts. It must not import ra or any package above it.
package accessguard
