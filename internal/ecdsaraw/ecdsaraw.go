// Package ecdsaraw owns one conversion: an ECDSA P-256 signature from the
// ASN.1 DER form a crypto.Signer returns (ECDSA-Sig-Value) to the 64-byte
// raw r||s form the signed bundle envelope (package bundle) and XML
// signatures (verifier/xmldsig) carry. Both signers use it; it signs and
// verifies nothing itself.
package ecdsaraw

import (
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
