// Package csrtest builds PKCS#10 requests whose SubjectPublicKeyInfo is any
// byte string, correctly self-signed, so that tests and fuzz targets can offer
// the CSR intake encodings crypto/x509 would never write: the same key
// re-encoded with trailing elements, which crypto/x509's parser accepts.
// It owns no rule; the rule (only canonical DER) is ca.ParseCSR's.
package csrtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
)

var oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}

// Build returns the DER of a CSR with this raw subject (an encoded Name;
// nil is the empty Name) and this raw SPKI, signed ecdsa-with-SHA256 by key.
func Build(key crypto.Signer, rawSubject, spki []byte) ([]byte, error) {
	if rawSubject == nil {
		rawSubject = []byte{0x30, 0x00}
	}
	info, err := asn1.Marshal(struct {
		Version    int
		Subject    asn1.RawValue
		SPKI       asn1.RawValue
		Attributes asn1.RawValue
	}{
		Version:    0,
		Subject:    asn1.RawValue{FullBytes: rawSubject},
		SPKI:       asn1.RawValue{FullBytes: spki},
		Attributes: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true},
	})
	if err != nil {
		return nil, fmt.Errorf("csrtest: request info: %w", err)
	}
	digest := sha256.Sum256(info)
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("csrtest: sign: %w", err)
	}
	return asn1.Marshal(struct {
		Info      asn1.RawValue
		Algorithm struct{ Algorithm asn1.ObjectIdentifier }
		Signature asn1.BitString
	}{
		Info:      asn1.RawValue{FullBytes: info},
		Algorithm: struct{ Algorithm asn1.ObjectIdentifier }{oidECDSAWithSHA256},
		Signature: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
}

// Variant is one re-encoding of a public key.
type Variant struct {
	Name string
	SPKI []byte
}

// NonCanonical returns re-encodings of pub's SubjectPublicKeyInfo that
// crypto/x509 parses back to the same key although their bytes differ from
// the canonical DER (x509.MarshalPKIXPublicKey): trailing elements inside
// the SPKI SEQUENCE and inside its AlgorithmIdentifier.
func NonCanonical(pub *ecdsa.PublicKey) ([]Variant, error) {
	canon, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.RawValue
	}
	if _, err := asn1.Unmarshal(canon, &spki); err != nil {
		return nil, err
	}
	var alg struct {
		Algorithm asn1.ObjectIdentifier
		Curve     asn1.RawValue
	}
	if _, err := asn1.Unmarshal(spki.Algorithm.FullBytes, &alg); err != nil {
		return nil, err
	}
	null := []byte{0x05, 0x00}
	seq := func(parts ...[]byte) []byte {
		var body []byte
		for _, p := range parts {
			body = append(body, p...)
		}
		out, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
		return out
	}
	oid, _ := asn1.Marshal(alg.Algorithm)
	algExtra := seq(oid, alg.Curve.FullBytes, null)
	return []Variant{
		{"trailing NULL in SubjectPublicKeyInfo", seq(spki.Algorithm.FullBytes, spki.PublicKey.FullBytes, null)},
		{"trailing NULL in AlgorithmIdentifier", seq(algExtra, spki.PublicKey.FullBytes)},
		{"trailing INTEGER in SubjectPublicKeyInfo", seq(spki.Algorithm.FullBytes, spki.PublicKey.FullBytes, []byte{0x02, 0x01, 0x07})},
		{"trailing elements in both", seq(algExtra, spki.PublicKey.FullBytes, null)},
	}, nil
}
