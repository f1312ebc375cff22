package verifier

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/role"
)

// testPKI is a small SMKI-shaped PKI for tests: Root OCA (OU=00) ->
// Issuing OCA (OU=07) -> Organisation Certificates. The project's testpki
// package builds the full scenario; this stays small on purpose.
type testPKI struct {
	root, ca       *x509.Certificate
	rootKey, caKey *ecdsa.PrivateKey
	now            time.Time
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[0] &= 0x7f
	b[0] |= 0x01
	return new(big.Int).SetBytes(b)
}

func skid(pub *ecdsa.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	h := sha1.Sum(der)
	return h[12:]
}

func mustCreate(t testing.TB, tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, key *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dccx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestPKI(t testing.TB, now time.Time) *testPKI {
	t.Helper()
	p := &testPKI{rootKey: mustKey(t), caKey: mustKey(t), now: now}
	rootTmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: "Test Root OCA", OrganizationalUnit: []string{"00"}},
		NotBefore: now.AddDate(-5, 0, 0), NotAfter: now.AddDate(20, 0, 0),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		SubjectKeyId: skid(&p.rootKey.PublicKey),
	}
	p.root = mustCreate(t, rootTmpl, rootTmpl, &p.rootKey.PublicKey, p.rootKey)
	p.ca = mustCreate(t, &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: "Z1", OrganizationalUnit: []string{"07"}},
		NotBefore: now.AddDate(-4, 0, 0), NotAfter: now.AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		MaxPathLenZero: true, SubjectKeyId: skid(&p.caKey.PublicKey),
	}, p.root, &p.caKey.PublicKey, p.rootKey)
	return p
}

// leafSpec describes an Organisation Certificate.
type leafSpec struct {
	id        eui64.ID
	ou        string          // "87" xmlSign by default
	roles     []role.UserRole // nil: no role binding
	notBefore time.Time       // zero: a year ago
	notAfter  time.Time       // zero: in a year
	usage     x509.KeyUsage   // zero: digitalSignature
	issuer    *x509.Certificate
	issuerKey *ecdsa.PrivateKey
}

// subjectWithUID builds CN, OU and x500UniqueIdentifier (BIT STRING of the
// EUI-64) the way DCC's Organisation Certificates carry them.
func subjectWithUID(cn, ou string, id eui64.ID) pkix.Name {
	return pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: cn},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: ou},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 45}, Value: asn1.BitString{Bytes: id[:], BitLength: 64}},
	}}
}

func (p *testPKI) leaf(t testing.TB, s leafSpec) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := mustKey(t)
	if s.ou == "" {
		s.ou = role.RPXMLSign.OU()
	}
	if s.notBefore.IsZero() {
		s.notBefore = p.now.AddDate(-1, 0, 0)
	}
	if s.notAfter.IsZero() {
		s.notAfter = p.now.AddDate(1, 0, 0)
	}
	if s.usage == 0 {
		s.usage = x509.KeyUsageDigitalSignature
	}
	if s.issuer == nil {
		s.issuer, s.issuerKey = p.ca, p.caKey
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: subjectWithUID(s.id.Hex(), s.ou, s.id),
		NotBefore: s.notBefore, NotAfter: s.notAfter, KeyUsage: s.usage,
		SubjectKeyId: skid(&key.PublicKey),
	}
	if s.roles != nil {
		ext, err := role.Extension(s.roles...)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.ExtraExtensions = []pkix.Extension{ext}
	}
	return mustCreate(t, tmpl, s.issuer, &key.PublicKey, s.issuerKey), key
}

// crl issues a CRL by the issuing CA revoking the given certificates at when.
func (p *testPKI) crl(t testing.TB, when time.Time, next time.Time, revoked ...*x509.Certificate) []byte {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, c := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: when})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(when.Unix()), ThisUpdate: when, NextUpdate: next, RevokedCertificateEntries: entries,
	}, p.ca, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
