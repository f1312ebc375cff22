package xmldsig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/subtle"
	"math/big"
)

// Verify checks the signature with pub, which must be a P-256 key, and on
// success returns the document element as digested and the canonical bytes
// the digest covers.
//
// It canonicalises the document minus the ds:Signature (inclusive c14n 1.0,
// or exclusive when the Reference lists the exc-c14n transform), compares
// its sha256 with DigestValue, then verifies the ECDSA signature over the
// sha256 of the exclusive c14n of SignedInfo. The returned tree is built in
// the same walk that fed the digest and is returned only when both checks
// pass; on any failure root and canonical are nil and err wraps
// ErrSignature.
func (d *Document) Verify(pub *ecdsa.PublicKey) (root *Element, canonical []byte, err error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return nil, nil, sigErr("verification key is not ECDSA P-256")
	}
	c := newCanon(d.sc, d.excDigest, len(d.sc.s))
	c.enableTree(d.sc.nElems)
	root = c.run(0, d.sig)
	sum := sha256.Sum256(c.out)
	if subtle.ConstantTimeCompare(sum[:], d.digest) != 1 {
		return nil, nil, sigErr("Reference digest does not match the document")
	}
	si := d.signedInfoC14N()
	h := sha256.Sum256(si)
	r := new(big.Int).SetBytes(d.sigValue[:32])
	s := new(big.Int).SetBytes(d.sigValue[32:])
	if !ecdsa.Verify(pub, h[:], r, s) {
		return nil, nil, sigErr("ECDSA signature does not verify")
	}
	return root, c.out, nil
}

// signedInfoC14N is the exclusive c14n of ds:SignedInfo, the bytes the
// SignatureValue signs.
func (d *Document) signedInfoC14N() []byte {
	t := &d.sc.toks[d.signedInf]
	c := newCanon(d.sc, true, int(t.endOff-t.off)+128)
	c.run(d.signedInf, -1)
	return c.out
}
