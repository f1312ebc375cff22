package ratest

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"slices"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/ra/eligibility"
	"github.com/smki/smki/role"
)

// ParseCert parses the certificate in certPEM (one CERTIFICATE block; what
// follows it is ignored): an Organisation Certificate the RA issued (its
// CertPEM) or an officer's or server's access certificate. It parses with
// dccx509, as Go's crypto/x509 cannot parse the BIT STRING
// x500UniqueIdentifier; any other certificate parses as with crypto/x509.
// A certPEM that does not decode or parse fails t.
func ParseCert(t testing.TB, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatal("not a PEM certificate")
	}
	c, err := dccx509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// CheckShape checks an issued certificate against profile p and role r:
// the one OU the RA expects (eligibility.ExpectedOU), the profile's key
// usage, the role bound to r alone, and that an SC certificate is only
// ever xml-signing. Each mismatch is reported with t.Errorf.
func CheckShape(t testing.TB, c *x509.Certificate, r role.UserRole, p ca.Profile) {
	t.Helper()
	if len(c.Subject.OrganizationalUnit) != 1 || c.Subject.OrganizationalUnit[0] != eligibility.ExpectedOU(r, p) {
		t.Errorf("%s %s: OU %v, want %s", r, p, c.Subject.OrganizationalUnit, eligibility.ExpectedOU(r, p))
	}
	wantKU := x509.KeyUsageDigitalSignature
	if p == ca.KeyAgreement {
		wantKU = x509.KeyUsageKeyAgreement
	}
	if c.KeyUsage != wantKU {
		t.Errorf("%s %s: keyUsage %v, want %v", r, p, c.KeyUsage, wantKU)
	}
	roles, err := role.FromCertificate(c)
	if err != nil || !slices.Equal(roles, []role.UserRole{r}) {
		t.Errorf("%s %s: role binding %v %v", r, p, roles, err)
	}
	if r == role.SoLRContingency && (p != ca.XMLSigning || c.KeyUsage&x509.KeyUsageKeyAgreement != 0) {
		t.Errorf("SC certificate with profile %s", p)
	}
}

// ReadFile returns the contents of the file at path; a failure fails t.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
