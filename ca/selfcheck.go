package ca

import "sync/atomic"

// selfCheckEvery is how often, in end-entity signatures, the CA verifies
// a signature of an in-process (softkms) key after making it: the first
// one after Open and every selfCheckEvery-th after. A PKCS#11 key's
// signatures are all verified.
//
// Why not every one: verifying an ECDSA P-256 signature costs about two
// signatures, a fifth of an issuance's CPU, and for a key held in this
// process it only re-checks Go's crypto/ecdsa. What a faulty signer
// would do is caught elsewhere: a key that does not match the Issuing OCA
// certificate is refused at Open (newCA) and by the readiness probe
// (CheckKey, which signs and verifies); crypto/ecdsa runs its own known-
// answer self-test before its first signature; and the sampled checks
// here catch a signer that goes wrong and stays wrong (a swapped key
// file, a broken build) within selfCheckEvery issuances, failing that
// issuance's intent. A PKCS#11 token signs outside the process, where a
// swapped key object or a faulty token is not something this process can
// rule out, so each of its signatures is checked. docs/profiles.md says
// the same.
const selfCheckEvery = 64

// signCheck decides which end-entity signatures are verified.
type signCheck struct {
	all  bool          // verify every signature (PKCS#11)
	made atomic.Uint64 // signatures made so far
}

// due reports whether the signature about to be made is verified.
func (s *signCheck) due() bool {
	n := s.made.Add(1) - 1
	return s.all || n%selfCheckEvery == 0
}

// signCertificateTBS signs an end-entity TBS with the Issuing OCA key
// (signTBS), verifying the signature when c.selfCheck says so.
func (c *CA) signCertificateTBS(tbs []byte) ([]byte, error) {
	return signTBS(c.issCAS, c.issuing, tbs, c.selfCheck.due())
}
