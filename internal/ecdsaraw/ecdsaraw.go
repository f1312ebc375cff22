// Package ecdsaraw owns the 64-byte raw r||s form of an ECDSA P-256
// signature that the signed bundle envelope (package bundle) and XML
// signatures (verifier/xmldsig) carry, as do the GBCS commands testpki
// signs: SignSHA256 signs a SHA-256 digest with a crypto.Signer and
// converts its ASN.1 DER answer (FromDER). Every such signer uses it; what
// a signature covers, and verifying one, stay with them.
package ecdsaraw

import (
	"crypto"
	"crypto/rand"
	"errors"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Size is the length of a raw P-256 signature: r and s, 32 bytes each.
const Size = 64

// FromDER converts an ASN.1 ECDSA-Sig-Value to raw r||s, each left-padded
// to 32 bytes. It refuses trailing data, a negative or zero component and
// a component longer than 32 bytes (not a P-256 signature).
func FromDER(der []byte) ([]byte, error) {
	var inner cryptobyte.String
	r, s := new(big.Int), new(big.Int)
	in := cryptobyte.String(der)
	if !in.ReadASN1(&inner, cbasn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(r) || !inner.ReadASN1Integer(s) || !inner.Empty() {
		return nil, errors.New("signer returned a malformed ECDSA signature")
	}
	if r.Sign() <= 0 || s.Sign() <= 0 {
		return nil, errors.New("ECDSA signature component not positive")
	}
	if r.BitLen() > 256 || s.BitLen() > 256 {
		return nil, errors.New("ECDSA signature component too long for P-256")
	}
	out := make([]byte, Size)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}

// SignSHA256 signs digest, a SHA-256 hash, with signer (an ECDSA P-256
// key, in memory or in a KMS) and returns the raw r||s signature.
func SignSHA256(signer crypto.Signer, digest []byte) ([]byte, error) {
	der, err := signer.Sign(rand.Reader, digest, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return FromDER(der)
}
