package ca

import (
	"crypto/sha1" //nolint:gosec // RFC 5280 section 4.2.1.2 method 2 is defined on SHA-1
	"crypto/x509"
	"encoding/asn1"
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

// publicKeyID is KeyID of a public key.
func publicKeyID(pub any) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyAlgorithm, err)
	}
	return KeyID(der)
}
