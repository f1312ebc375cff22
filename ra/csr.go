package ra

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

var (
	oidCN  = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidOU  = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidUID = asn1.ObjectIdentifier{2, 5, 4, 45}
)

// checkCSRSubject is the RA's enrolment check of a parsed CSR: the subject
// must name this User ID (x500UniqueIdentifier, a 64-bit BIT STRING) and
// this profile (OU, e.g. 87 for xml-signing), may carry one CN, and nothing
// else. The CA checks the subject again at issuance; the RA checks first so
// that a mismatch is a policy refusal with its own code and audit record,
// and because an officer submitting user A's key for user B is exactly the
// mistake a registration authority exists to catch. It returns the CN.
func checkCSRSubject(csr *x509.CertificateRequest, id eui64.ID, r role.UserRole, p ca.Profile) (string, error) {
	wantOU := ExpectedOU(r, p)
	var cn string
	var sawUID, sawOU, sawCN bool
	for _, n := range csr.Subject.Names {
		switch {
		case n.Type.Equal(oidUID):
			if sawUID || !uniqueIdentifierIs(n.Value, id) {
				return "", fmt.Errorf("%w: x500UniqueIdentifier must be the User ID %s once, as a 64-bit BIT STRING or its hex text", ErrCSRMismatch, id)
			}
			sawUID = true
		case n.Type.Equal(oidOU):
			s, ok := n.Value.(string)
			if sawOU || !ok || s != wantOU {
				return "", fmt.Errorf("%w: OU must be %s once for a %s %s certificate (got %v)", ErrCSRMismatch, wantOU, r, p, n.Value)
			}
			sawOU = true
		case n.Type.Equal(oidCN):
			s, ok := n.Value.(string)
			if sawCN || !ok {
				return "", fmt.Errorf("%w: at most one CN, a string", ErrCSRMismatch)
			}
			cn, sawCN = s, true
		default:
			return "", fmt.Errorf("%w: subject attribute %s is not allowed (only CN, OU, x500UniqueIdentifier)", ErrCSRMismatch, n.Type)
		}
	}
	if !sawUID || !sawOU {
		return "", fmt.Errorf("%w: subject must carry OU=%s and x500UniqueIdentifier=%s", ErrCSRMismatch, wantOU, id)
	}
	return cn, nil
}

// uniqueIdentifierIs reports whether a CSR's x500UniqueIdentifier value
// names id. The certificate always carries the 64-bit BIT STRING; a CSR may
// also give the EUI-64 as text, because common tools (openssl req -subj)
// can only write attribute values as strings.
func uniqueIdentifierIs(v any, id eui64.ID) bool {
	switch v := v.(type) {
	case asn1.BitString:
		return v.BitLength == 64 && bytes.Equal(v.Bytes, id[:])
	case string:
		got, err := eui64.Parse(v)
		return err == nil && got == id
	}
	return false
}

// parseCSR is ca.ParseCSR with its refusals in the RA's code family: a
// non-canonical key encoding is E_RA_CSR_NOT_CANONICAL, anything else
// E_RA_CSR_INVALID; the CA's code stays in the message.
func parseCSR(what string, pemCSR []byte) (*x509.CertificateRequest, error) {
	csr, err := ca.ParseCSR(pemCSR)
	switch {
	case errors.Is(err, ca.ErrCSRNotCanonical):
		return nil, fmt.Errorf("%w: %s: %w", ErrCSRNotCanonical, what, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %w", ErrCSRInvalid, what, err)
	}
	return csr, nil
}

// NewCSR returns a PEM CSR signed by key whose subject is what the RA
// expects for user id of role r and profile p: optional CN, OU (the
// profile's remote party role) and x500UniqueIdentifier (the User ID as a
// 64-bit BIT STRING). key must be ECDSA P-256.
func NewCSR(key crypto.Signer, id eui64.ID, r role.UserRole, p ca.Profile, commonName string) ([]byte, error) {
	if err := Eligible(r, p); err != nil {
		// Building a CSR the RA will refuse helps nobody; say why now.
		return nil, err
	}
	var rdn [][]asn1.RawValue
	add := func(oid asn1.ObjectIdentifier, v asn1.RawValue) error {
		atv, err := asn1.Marshal(struct {
			Type  asn1.ObjectIdentifier
			Value asn1.RawValue
		}{oid, v})
		if err != nil {
			return err
		}
		rdn = append(rdn, []asn1.RawValue{{FullBytes: atv}})
		return nil
	}
	if commonName != "" {
		if err := add(oidCN, asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(commonName)}); err != nil {
			return nil, err
		}
	}
	if err := add(oidOU, asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(ExpectedOU(r, p))}); err != nil {
		return nil, err
	}
	if err := add(oidUID, asn1.RawValue{Tag: asn1.TagBitString, Bytes: append([]byte{0}, id[:]...)}); err != nil {
		return nil, err
	}
	raw, err := marshalRDNs(rdn)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw}, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCSRInvalid, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// marshalRDNs encodes an RDNSequence of single-attribute SETs.
func marshalRDNs(rdns [][]asn1.RawValue) ([]byte, error) {
	var body []byte
	for _, set := range rdns {
		var inner []byte
		for _, v := range set {
			inner = append(inner, v.FullBytes...)
		}
		s, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: inner})
		if err != nil {
			return nil, err
		}
		body = append(body, s...)
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
}
