package ratest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/eligibility"
	"github.com/smki/smki/role"
)

// Subject attribute OIDs hostile CSRs are built from.
var (
	OIDOU  = asn1.ObjectIdentifier{2, 5, 4, 11} // organizationalUnitName
	OIDUID = asn1.ObjectIdentifier{2, 5, 4, 45} // x500UniqueIdentifier (the User ID)
)

// NewKey returns a fresh P-256 key; a failure fails t.
func NewKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// CSR returns the PEM CSR a well-behaved client sends for user id in role
// r and profile p, signed by k (eligibility.NewCSR, which ra.NewCSR is, no
// common name); a failure, such as p not eligible for r, fails t.
func CSR(t testing.TB, k *ecdsa.PrivateKey, id eui64.ID, r role.UserRole, p ca.Profile) []byte {
	t.Helper()
	c, err := eligibility.NewCSR(k, id, r, p, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// RawCSR returns a PEM CSR signed by k whose subject is OU=ou and the
// User ID id, without NewCSR's eligibility check, to show the RA refuses
// what a client might send.
func RawCSR(t testing.TB, k *ecdsa.PrivateKey, id eui64.ID, ou string) []byte {
	t.Helper()
	return RawCSRAttrs(t, k, []Attr{
		{OID: OIDOU, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(ou)}},
		{OID: OIDUID, Value: asn1.RawValue{Tag: asn1.TagBitString, Bytes: append([]byte{0}, id[:]...)}},
	})
}

// Attr is one subject attribute of a RawCSRAttrs request: its type and
// its value exactly as encoded (tag and bytes).
type Attr struct {
	OID   asn1.ObjectIdentifier
	Value asn1.RawValue
}

// RawCSRAttrs returns a PEM CSR signed by k whose subject has one RDN per
// attribute, in order, encoded by eligibility.MarshalRDNs, with nothing
// checked; a failure to encode or sign fails t.
func RawCSRAttrs(t testing.TB, k *ecdsa.PrivateKey, attrs []Attr) []byte {
	t.Helper()
	var rdns [][]asn1.RawValue
	for _, a := range attrs {
		atv, err := asn1.Marshal(struct {
			Type  asn1.ObjectIdentifier
			Value asn1.RawValue
		}{a.OID, a.Value})
		if err != nil {
			t.Fatal(err)
		}
		rdns = append(rdns, []asn1.RawValue{{FullBytes: atv}})
	}
	raw, err := eligibility.MarshalRDNs(rdns)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw}, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}
