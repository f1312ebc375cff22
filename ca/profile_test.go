package ca

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/internal/need"
	"github.com/smki/smki/role"
)

// shape is what the SMKI profile fixes about a certificate, read from its
// DER the same way for DCC's certificates and for smki's.
type shape struct {
	subjectTypes          []string // attribute OIDs in order
	subjectTags           []cbasn1.Tag
	ou                    string
	uidBits               int
	kuCritical            bool
	ku                    x509.KeyUsage
	cpCritical            bool
	policies              string
	skidLen               int
	skidMethod2           bool
	hasBC, hasEKU, hasSAN bool
	serialLen             int
	endsAt235959          bool
}

func shapeOf(t *testing.T, c *x509.Certificate) shape {
	t.Helper()
	attrs, err := parseName(c.RawSubject)
	if err != nil {
		t.Fatal(err)
	}
	var s shape
	for _, a := range attrs {
		s.subjectTypes = append(s.subjectTypes, a.oid.String())
		s.subjectTags = append(s.subjectTags, a.tag)
		switch {
		case a.oid.Equal(oidOrganizationalUnit):
			s.ou = string(a.val)
		case a.oid.Equal(oidX500UniqueIdentifer):
			var bs asn1.BitString
			full := append([]byte{0x03, byte(len(a.val))}, a.val...)
			if _, err := asn1.Unmarshal(full, &bs); err != nil {
				t.Fatal(err)
			}
			s.uidBits = bs.BitLength
		}
	}
	if e := findExt(c, oidExtKeyUsage); e != nil {
		s.kuCritical = e.Critical
	}
	s.ku = c.KeyUsage
	if e := findExt(c, oidExtCertPolicies); e != nil {
		s.cpCritical = e.Critical
	}
	for _, p := range c.Policies {
		s.policies += p.String() + ";"
	}
	s.skidLen = len(c.SubjectKeyId)
	want, _ := KeyID(c.RawSubjectPublicKeyInfo)
	s.skidMethod2 = bytes.Equal(want, c.SubjectKeyId)
	s.hasBC = findExt(c, oidExtBasicConstraints) != nil
	s.hasEKU = findExt(c, asn1.ObjectIdentifier{2, 5, 29, 37}) != nil
	s.hasSAN = findExt(c, asn1.ObjectIdentifier{2, 5, 29, 17}) != nil
	s.serialLen = len(c.SerialNumber.Bytes())
	h, m, sec := c.NotAfter.UTC().Clock()
	s.endsAt235959 = h == 23 && m == 59 && sec == 59
	return s
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := pem.Decode(b)
	c, err := dccx509.ParseCertificate(p.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestProfilesMatchDCC compares smki's certificates field by field with
// DCC's: Z1-supplier-ds (CN + OU=02, digital signing) and
// xml-sign-90B3D51F30010000-ds (OU=87). DCC's xml-sign certificates lack an
// AKID and run 100 years to 00:00:00; smki always has an AKID and ends at
// 23:59:59 like Z1-supplier-ds, so those two fields come from Z1-supplier-ds.
func TestProfilesMatchDCC(t *testing.T) {
	t.Parallel()
	dccDS := readCert(t, conformance.Path(t, "certs", "Z1-supplier-ds.pem"))
	dccXML := readCert(t, conformance.Path(t, "certs", "xml-sign-90B3D51F30010000-ds.pem"))
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		profile Profile
		role    role.UserRole
		cn      string
		dcc     *x509.Certificate
		wantOU  string
		wantKU  x509.KeyUsage
	}{
		{"xml-signing SC", XMLSigning, role.SoLRContingency, "", dccXML, "87", x509.KeyUsageDigitalSignature},
		{"digital-signing IS", DigitalSigning, role.ImportSupplier, "GITTESTSUPPLIER", dccDS, "02", x509.KeyUsageDigitalSignature},
		{"key-agreement GS", KeyAgreement, role.GasSupplier, "GITTESTSUPPLIER", dccDS, "02", x509.KeyUsageKeyAgreement},
		{"digital-signing ED", DigitalSigning, role.ElectricityDistributor, "", dccDS, "03", x509.KeyUsageDigitalSignature},
	}
	for i, tt := range tests {
		_, csr := newCSR(t, nil)
		user := eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0x01, 0x00, byte(i)}
		req := issueReq(csr, tt.profile, user, partySupA, tt.role)
		req.CommonName = tt.cn
		cert, rec, err := e.ca.Issue(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, dcc := shapeOf(t, cert), shapeOf(t, tt.dcc)
		if tt.cn == "" && tt.dcc == dccDS {
			dcc.subjectTypes, dcc.subjectTags = dcc.subjectTypes[1:], dcc.subjectTags[1:]
		}
		dcc.ou, dcc.ku = tt.wantOU, tt.wantKU
		dcc.endsAt235959 = true // Z1-supplier-ds does; the 100-year xml-sign test certificates do not
		if d := diffShape(got, dcc); d != "" {
			t.Errorf("%s: differs from DCC: %s", tt.name, d)
		}
		if len(cert.AuthorityKeyId) != 8 || !bytes.Equal(cert.AuthorityKeyId, e.ca.Issuing().SubjectKeyId) {
			t.Errorf("%s: AKID %x, want issuing SKID %x", tt.name, cert.AuthorityKeyId, e.ca.Issuing().SubjectKeyId)
		}
		if !bytes.Equal(cert.RawIssuer, e.ca.Issuing().RawSubject) {
			t.Errorf("%s: issuer is not the issuing CA's subject", tt.name)
		}
		if !strings.Contains(string(cert.RawSubject), string(user[:])) {
			t.Errorf("%s: subject lacks the User ID", tt.name)
		}
		roles, err := role.FromCertificate(cert)
		if err != nil || len(roles) != 1 || roles[0] != tt.role {
			t.Errorf("%s: role binding %v %v", tt.name, roles, err)
		}
		if want := testStart.AddDate(10, 0, 0); cert.NotAfter.After(want) || want.Sub(cert.NotAfter) > 24*time.Hour {
			t.Errorf("%s: notAfter %v, want the 23:59:59 before %v", tt.name, cert.NotAfter, want)
		}
		if rec.Serial != SerialHex(cert.SerialNumber) || rec.Profile != string(tt.profile) || rec.Role != string(tt.role) ||
			rec.UserID != user.String() || !bytes.Equal(rec.DER, cert.Raw) {
			t.Errorf("%s: record %+v does not describe the certificate", tt.name, rec)
		}
	}
}

func diffShape(a, b shape) string {
	var d []string
	if strings.Join(a.subjectTypes, ",") != strings.Join(b.subjectTypes, ",") {
		d = append(d, "subject types "+strings.Join(a.subjectTypes, ",")+" vs "+strings.Join(b.subjectTypes, ","))
	}
	if len(a.subjectTags) != len(b.subjectTags) {
		d = append(d, "subject tag count")
	} else {
		for i := range a.subjectTags {
			if a.subjectTags[i] != b.subjectTags[i] {
				d = append(d, "subject string type")
			}
		}
	}
	if a.ou != b.ou {
		d = append(d, "OU "+a.ou+" vs "+b.ou)
	}
	if a.uidBits != 64 || b.uidBits != 64 {
		d = append(d, "x500UniqueIdentifier is not 64 bits")
	}
	if a.kuCritical != b.kuCritical || a.ku != b.ku {
		d = append(d, "keyUsage")
	}
	if a.cpCritical != b.cpCritical || a.policies != b.policies {
		d = append(d, "certificatePolicies "+a.policies+" vs "+b.policies)
	}
	if a.skidLen != b.skidLen || !a.skidMethod2 || !b.skidMethod2 {
		d = append(d, "SKID not 8-byte method 2")
	}
	if a.hasBC || a.hasEKU || a.hasSAN || b.hasBC || b.hasEKU || b.hasSAN {
		d = append(d, "basicConstraints/EKU/SAN present")
	}
	if a.serialLen != 16 || b.serialLen != 16 {
		d = append(d, "serial length")
	}
	if a.endsAt235959 != b.endsAt235959 {
		d = append(d, "notAfter not 23:59:59")
	}
	return strings.Join(d, "; ")
}

// TestKeyIDMethod2OnDCC recomputes DCC's SKIDs with KeyID.
func TestKeyIDMethod2OnDCC(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"Z1-supplier-ds.pem", "xml-sign-90B3D51F30010000-ds.pem", "Z1-networkOperator-ds.pem"} {
		c := readCert(t, conformance.Path(t, "certs", n))
		got, err := KeyID(c.RawSubjectPublicKeyInfo)
		if err != nil || !bytes.Equal(got, c.SubjectKeyId) {
			t.Errorf("%s: KeyID %x, certificate SKID %x (%v)", n, got, c.SubjectKeyId, err)
		}
	}
}

// TestOpenSSLAcceptsChain: openssl verifies issued certificates against the
// root with the issuing CA untrusted, and prints the profile.
func TestOpenSSLAcceptsChain(t *testing.T) {
	t.Parallel()
	openssl := need.Tool(t, "openssl", "openssl")
	e := newEnv(t)
	dir := t.TempDir()
	rootPEM := writePEM(t, filepath.Join(dir, "root.pem"), "CERTIFICATE", e.ca.Root().Raw)
	issPEM := writePEM(t, filepath.Join(dir, "issuing.pem"), "CERTIFICATE", e.ca.Issuing().Raw)
	for _, p := range Profiles() {
		_, csr := newCSR(t, nil)
		cert, _, err := e.ca.Issue(context.Background(), issueReq(csr, p, userIS, partySupA, role.ImportSupplier))
		if err != nil {
			t.Fatal(err)
		}
		leaf := writePEM(t, filepath.Join(dir, string(p)+".pem"), "CERTIFICATE", cert.Raw)
		out, err := exec.Command(openssl, "verify", "-attime", strconv.FormatInt(testStart.Add(time.Hour).Unix(), 10), "-purpose", "any",
			"-CAfile", rootPEM, "-untrusted", issPEM, leaf).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: openssl verify: %v\n%s", p, err, out)
		}
		text, err := exec.Command(openssl, "x509", "-noout", "-text", "-in", leaf).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: openssl x509: %v\n%s", p, err, text)
		}
		wantOU := "OU = 02"
		if p == XMLSigning {
			wantOU = "OU = 87"
		}
		wantKU := "Digital Signature"
		if p == KeyAgreement {
			wantKU = "Key Agreement"
		}
		for _, want := range []string{wantOU + ", x500UniqueIdentifier = #03090090B3D51F30020000",
			"X509v3 Key Usage: critical", wantKU, "X509v3 Certificate Policies: critical",
			"Policy: " + OIDOrganisationCertificatePolicy, "X509v3 Subject Directory Attributes",
			"Issuer: OU = 07, CN = " + DefaultIssuingCommonName, "23:59:59 20"} {
			if !strings.Contains(string(text), want) {
				t.Errorf("%s: openssl x509 -text lacks %q:\n%s", p, want, text)
			}
		}
		if strings.Contains(string(text), "Basic Constraints") || strings.Contains(string(text), "Extended Key Usage") {
			t.Errorf("%s: end-entity has basicConstraints or EKU", p)
		}
	}
}
