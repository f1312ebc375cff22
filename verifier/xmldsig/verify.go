package xmldsig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/subtle"
)

// Verify checks the signature with pub, which must be a P-256 key, and on
// success returns the document element as digested and the canonical bytes
// the digest covers.
//
// It takes the canonical form of the document minus the ds:Signature
// (inclusive c14n 1.0, written by Parse's scan in the same pass that made
// the tokens; or exclusive c14n, walked from those tokens, when the
// Reference lists the exc-c14n transform), compares its sha256 with
// DigestValue, then verifies the ECDSA signature over the sha256 of the
// exclusive c14n of SignedInfo. The tree is built from the same tokens,
// minus the signature, and is returned only when both checks pass; on any
// failure root and canonical are nil and err wraps ErrSignature, or
// ErrMalformed when the exclusive canonical form of the document would
// render more bytes of namespace declarations than excNSLimit allows
// (exclusive c14n repeats a binding on every element that uses it, so
// without a bound a small document could make gigabytes).
//
// canonical is shared by every Verify of d and must not be modified.
// Verify does not modify d, so it may be called concurrently.
func (d *Document) Verify(pub *ecdsa.PublicKey) (root *Element, canonical []byte, err error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return nil, nil, sigErr("verification key is not ECDSA P-256")
	}
	c := canonPool.Get().(*canon)
	defer c.put()
	c.init(d.sc, d.excDigest, 0)
	// The tree is built last, once both checks have passed: a document
	// nobody trusted signed costs only its canonical form (the tree of an
	// attribute-heavy document is ten times its size).
	if !d.excDigest && d.sc.sigCut == d.sig {
		// The scan wrote the inclusive canonical form, signature cut out,
		// from the very tokens the tree is later built from.
		canonical = d.sc.out[:len(d.sc.out):len(d.sc.out)]
	} else {
		c.reset(d.excDigest, len(d.sc.s))
		c.nsLimit = excNSLimit(len(d.sc.s))
		c.run(0, d.sig)
		if c.over {
			return nil, nil, malformed("exclusive c14n of the document renders more than %d bytes of namespace declarations "+
				"(the document is %d bytes): a namespace declared once is rendered again on every element that uses it", c.nsLimit, len(d.sc.s))
		}
		canonical = c.out
	}
	sum := sha256.Sum256(canonical)
	if subtle.ConstantTimeCompare(sum[:], d.digest[:]) != 1 {
		return nil, nil, sigErr("Reference digest does not match the document")
	}
	// SignedInfo's canonical form is hashed and dropped: write it into the
	// pooled canon's own buffer.
	c.reset(true, 0)
	c.out = c.siBuf[:0]
	c.run(d.signedInf, -1)
	c.siBuf = c.out[:0]
	h := sha256.Sum256(c.out)
	if !ecdsa.VerifyASN1(pub, h[:], d.sigDER[:d.sigDERLen]) {
		return nil, nil, sigErr("ECDSA signature does not verify")
	}
	c.treeOnly(d.treeElems, d.treeAttrs, d.sig)
	root = c.run(0, d.sig)
	return root, canonical, nil
}

// excNSLimit bounds the bytes of namespace declarations (prefixes and
// URIs) the exclusive canonical form of an n-byte document may render: the
// document's size plus 64 KiB. A DUIS document renders a few bindings
// once each; a document that passes the bound re-renders one long URI
// over and over.
func excNSLimit(n int) int { return n + 64<<10 }

// signedInfoC14N is the exclusive c14n of ds:SignedInfo, the bytes the
// SignatureValue signs.
func (d *Document) signedInfoC14N() []byte {
	t := &d.sc.toks[d.signedInf]
	c := newCanon(d.sc, true, int(t.endOff-t.off)+128)
	c.run(d.signedInf, -1)
	return c.out
}

// rawToDER encodes raw r||s into buf as an ASN.1 ECDSA-Sig-Value for
// ecdsa.VerifyASN1, without big.Int round trips, and returns it. A zero or
// out-of-range component simply fails verification there. Parse does it
// once, into the pooled Document (no allocation per request).
func rawToDER(buf *[72]byte, raw *[64]byte) []byte {
	b := append(buf[:0], 0x30, 0)
	for _, v := range [][]byte{raw[:32], raw[32:]} {
		for len(v) > 1 && v[0] == 0 {
			v = v[1:]
		}
		b = append(b, 0x02, byte(len(v)))
		if v[0]&0x80 != 0 {
			b[len(b)-1]++
			b = append(b, 0)
		}
		b = append(b, v...)
	}
	b[1] = byte(len(b) - 2)
	return b
}
