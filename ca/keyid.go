package ca

import (
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
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(rawSPKI, &spki)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: subjectPublicKeyInfo does not parse", ErrBadCSR)
	}
	h := sha1.Sum(spki.PublicKey.Bytes) //nolint:gosec // see import
	id := h[len(h)-8:]
	id[0] = 0x40 | id[0]&0x0f
	return append([]byte(nil), id...), nil
}

// KeyHash is the one identity of a public key wherever smki identifies one
// (the RA's key-reuse rules, the CA's, the store's key index): hex SHA-256 of
// the key's canonical SubjectPublicKeyInfo DER, re-encoded from the parsed
// key, never of bytes a requester sent, so that no re-encoding of a key gives
// it a second identity.
func KeyHash(pub any) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKeyAlgorithm, err)
	}
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:]), nil
}

// publicKeyID is KeyID of a public key.
func publicKeyID(pub any) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyAlgorithm, err)
	}
	return KeyID(der)
}
