package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha1" //nolint:gosec // RFC 5280 section 4.2.1.2 method 2 is defined on SHA-1
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
)

// KeyID returns the 8-byte key identifier of an SPKI by RFC 5280 section
// 4.2.1.2 method 2: the four bits 0100 followed by the least significant 60
// bits of the SHA-1 hash of the subjectPublicKey BIT STRING value. DCC's
// certificates use it for both SKID and AKID.
func KeyID(rawSPKI []byte) ([]byte, error) {
	if len(rawSPKI) == len(p256SPKIPrefix)+65 && bytes.HasPrefix(rawSPKI, p256SPKIPrefix) {
		// A P-256 SPKI in canonical DER: the rest is the BIT STRING's
		// value, the uncompressed point, read without reflection.
		return keyIDOf(rawSPKI[len(p256SPKIPrefix):]), nil
	}
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(rawSPKI, &spki)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: subjectPublicKeyInfo does not parse", ErrBadCSR)
	}
	return keyIDOf(spki.PublicKey.Bytes), nil
}

// keyIDOf is the method 2 identifier of a subjectPublicKey BIT STRING value.
func keyIDOf(subjectPublicKey []byte) []byte {
	h := sha1.Sum(subjectPublicKey) //nolint:gosec // see import
	id := h[len(h)-8:]
	id[0] = 0x40 | id[0]&0x0f
	return append([]byte(nil), id...)
}

// KeyHash is the one identity of a public key wherever smki identifies one
// (the RA's key-reuse rules, the CA's, the store's key index): hex SHA-256 of
// the key's canonical SubjectPublicKeyInfo DER, re-encoded from the parsed
// key, never of bytes a requester sent, so that no re-encoding of a key gives
// it a second identity.
func KeyHash(pub any) (string, error) {
	der, err := marshalSPKI(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKeyAlgorithm, err)
	}
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:]), nil
}

// publicKeyID is KeyID of a public key.
func publicKeyID(pub any) ([]byte, error) {
	der, err := marshalSPKI(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyAlgorithm, err)
	}
	return KeyID(der)
}

// p256SPKIPrefix is the DER of a P-256 SubjectPublicKeyInfo up to the
// uncompressed point: SEQUENCE { AlgorithmIdentifier { id-ecPublicKey,
// prime256v1 }, BIT STRING (0 unused bits) header }.
var p256SPKIPrefix = []byte{0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00}

// marshalSPKI is x509.MarshalPKIXPublicKey: the canonical DER of pub's
// SubjectPublicKeyInfo. For an ECDSA P-256 key, the only kind issuance
// certifies, it writes the same bytes without encoding/asn1's reflection
// (TestMarshalSPKIEqualsX509).
func marshalSPKI(pub any) ([]byte, error) {
	if k, ok := pub.(*ecdsa.PublicKey); ok && k.Curve == elliptic.P256() {
		point, err := k.Bytes()
		if err != nil {
			return nil, err
		}
		return append(append(make([]byte, 0, len(p256SPKIPrefix)+len(point)), p256SPKIPrefix...), point...), nil
	}
	return x509.MarshalPKIXPublicKey(pub)
}
