package eligibility

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/role"
)

var (
	oidCN  = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidOU  = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidUID = asn1.ObjectIdentifier{2, 5, 4, 45}
)

// CheckCSRSubject is the RA's enrolment check of a parsed CSR, by the one
// subject rule (ca.CheckCSRSubject): the subject must name this User ID
// (x500UniqueIdentifier) and this profile (OU, e.g. 87 for xml-signing),
// may carry one CN, and nothing else. The CA checks the same rule again at
// issuance; the RA checks first so that a mismatch is a policy refusal with
// its own code (E_RA_CSR_MISMATCH, the CA's code kept in the message) and
// audit record. The User ID is checked first, by ca.CheckCSRUserID as
// smki enroll checks it before sending (CheckCSRUserID), so a CSR made for
// another user is refused in the same words on both sides. It returns the
// CN.
func CheckCSRSubject(csr *x509.CertificateRequest, id eui64.ID, r role.UserRole, p ca.Profile) (string, error) {
	if err := ca.CheckCSRUserID(csr, id); err != nil {
		return "", csrMismatch(err, id, p, r)
	}
	cn, err := ca.CheckCSRSubject(csr, ca.CSRSubject{OU: ExpectedOU(r, p), UserID: id, AnyCN: true, Require: true})
	if err != nil {
		return "", csrMismatch(err, id, p, r)
	}
	return cn, nil
}

// CheckCSRUserID is the part of CheckCSRSubject a client can check before
// it sends a CSR for user id and profile p without knowing the user's role
// (smki enroll): the subject names id (ca.CheckCSRUserID). A refusal is
// E_RA_CSR_MISMATCH, as the RA's own.
func CheckCSRUserID(csr *x509.CertificateRequest, id eui64.ID, p ca.Profile) error {
	if err := ca.CheckCSRUserID(csr, id); err != nil {
		return csrMismatch(err, id, p, "")
	}
	return nil
}

// csrMismatch is err, the subject rule's refusal of a CSR for user id and
// profile p, as E_RA_CSR_MISMATCH with the smki csr that makes the right
// CSR; r is the user's role, "" when the caller does not know it.
func csrMismatch(err error, id eui64.ID, p ca.Profile, r role.UserRole) error {
	what, roleArg := string(p)+" certificate", " --role "+string(r)
	if r != "" {
		what = string(r) + " " + what
	} else if p == ProfileXMLSigning {
		roleArg = "" // xml-signing's OU does not depend on the role
	} else {
		roleArg = " --role ROLE (the user's)"
	}
	return fmt.Errorf("%w: %s: %w; make the CSR for this user and profile: smki csr --user-id %s --profile %s%s",
		raerr.ErrCSRMismatch, what, err, id, p, roleArg)
}

// ParseCSR is ca.ParseCSR with its refusals in the RA's code family: a
// non-canonical key encoding is E_RA_CSR_NOT_CANONICAL, anything else
// E_RA_CSR_INVALID; the CA's code stays in the message.
func ParseCSR(what string, pemCSR []byte) (*x509.CertificateRequest, error) {
	csr, err := ca.ParseCSR(pemCSR)
	switch {
	case errors.Is(err, ca.ErrCSRNotCanonical):
		return nil, fmt.Errorf("%w: %s: %w", raerr.ErrCSRNotCanonical, what, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %w", raerr.ErrCSRInvalid, what, err)
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
	raw, err := MarshalRDNs(rdn)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw}, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", raerr.ErrCSRInvalid, err)
	}
	// The CA's own checks of a CSR (its key P-256, canonical, signed):
	// a CSR the RA would refuse for its key is refused here.
	if _, err := ca.ParseCSR(der); err != nil {
		return nil, fmt.Errorf("%w; make a P-256 key with smki keygen", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// MarshalRDNs encodes an RDNSequence of single-attribute SETs.
func MarshalRDNs(rdns [][]asn1.RawValue) ([]byte, error) {
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
