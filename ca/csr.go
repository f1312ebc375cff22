package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smki/smki/eui64"
)

// MaxCSRSize is the largest CSR, PEM or DER, that ParseCSR reads. A P-256 CSR
// is under 1 KiB; the limit only bounds hostile input.
const MaxCSRSize = 64 << 10

// ParseCSR parses a PKCS#10 request given as PEM ("CERTIFICATE REQUEST" or
// "NEW CERTIFICATE REQUEST") or DER, and checks what does not depend on the
// profile: size (ErrTooLarge), structure (ErrBadCSR, also for trailing data
// or a second PEM block), key ECDSA P-256 (ErrKeyAlgorithm) and the
// self-signature (ErrCSRSignature). It does not check the subject; Issue
// does, against the profile and the request.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	if len(data) > MaxCSRSize {
		return nil, fmt.Errorf("%w: CSR is %d bytes, limit %d", ErrTooLarge, len(data), MaxCSRSize)
	}
	der := data
	if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		block, rest := pem.Decode(t)
		if block == nil {
			return nil, fmt.Errorf("%w: PEM does not decode (truncated?)", ErrBadCSR)
		}
		if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
			return nil, fmt.Errorf("%w: PEM type %q is not a certificate request", ErrBadCSR, block.Type)
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			return nil, fmt.Errorf("%w: data after the PEM block", ErrBadCSR)
		}
		der = block.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCSR, err)
	}
	if err := checkCSRKeyAndSignature(csr); err != nil {
		return nil, err
	}
	return csr, nil
}

// checkCSRKeyAndSignature enforces P-256 and a valid self-signature. Issue
// runs it again so that a CSR built in memory gets the same checks.
func checkCSRKeyAndSignature(csr *x509.CertificateRequest) error {
	if csr == nil {
		return fmt.Errorf("%w: no CSR", ErrBadCSR)
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: key is %v, want ECDSA P-256", ErrKeyAlgorithm, csr.PublicKeyAlgorithm)
	}
	if pub.Curve != elliptic.P256() {
		return fmt.Errorf("%w: curve is %s, want P-256", ErrKeyAlgorithm, pub.Curve.Params().Name)
	}
	if csr.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		return fmt.Errorf("%w: signature algorithm %v, want ecdsa-with-SHA256", ErrCSRSignature, csr.SignatureAlgorithm)
	}
	if err := csr.CheckSignature(); err != nil {
		return fmt.Errorf("%w: %v", ErrCSRSignature, err)
	}
	return nil
}

// checkCSRSubject allows only the fields the profile puts in the subject, and
// only with the values the request will put there: CN equal to commonName,
// OU equal to the profile's OU, x500UniqueIdentifier equal to the User ID
// (as a 64-bit BIT STRING). An empty subject is fine: the CA builds the
// subject from the request, never from the CSR.
func checkCSRSubject(csr *x509.CertificateRequest, commonName, ou string, id eui64.ID) error {
	attrs, err := parseName(csr.RawSubject)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, a := range attrs {
		key := a.oid.String()
		if seen[key] {
			return fmt.Errorf("%w: attribute %s appears twice", ErrSubjectField, key)
		}
		seen[key] = true
		switch {
		case a.oid.Equal(oidCommonName):
			if string(a.val) != commonName {
				return fmt.Errorf("%w: CSR CN %q does not match the request's %q", ErrSubjectField, a.val, commonName)
			}
		case a.oid.Equal(oidOrganizationalUnit):
			if string(a.val) != ou {
				return fmt.Errorf("%w: CSR OU %q, the profile's OU is %q", ErrSubjectField, a.val, ou)
			}
		case a.oid.Equal(oidX500UniqueIdentifer):
			if !uniqueIdentifierIs(a.tag, a.val, id) {
				return fmt.Errorf("%w: CSR x500UniqueIdentifier is not the User ID %s (a 64-bit BIT STRING, or its hex text)", ErrSubjectField, id)
			}
		default:
			return fmt.Errorf("%w: attribute %s is not allowed (only CN, OU, x500UniqueIdentifier)", ErrSubjectField, key)
		}
	}
	return nil
}

// uniqueIdentifierIs reports whether a CSR's x500UniqueIdentifier names id:
// as the 64-bit BIT STRING the certificate will carry, or as the EUI-64 in
// text (UTF8String, PrintableString or IA5String), which is all that common
// tools such as openssl req -subj can write.
func uniqueIdentifierIs(tag cbasn1.Tag, val []byte, id eui64.ID) bool {
	switch tag {
	case cbasn1.BIT_STRING:
		return len(val) == 9 && val[0] == 0 && bytes.Equal(val[1:], id[:])
	case cbasn1.UTF8String, cbasn1.PrintableString, cbasn1.IA5String:
		got, err := eui64.Parse(string(val))
		return err == nil && got == id
	}
	return false
}
