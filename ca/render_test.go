package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/role"
)

// TestRenderedShapeEqualsFreshRender: the cached render of a shape, filled
// with a request's values, builds byte for byte the TBS a fresh run of the
// template builds for that request, for every profile and role, whatever
// request primed the cache.
func TestRenderedShapeEqualsFreshRender(t *testing.T) {
	t.Parallel()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	parent := &x509.Certificate{RawSubject: []byte{0x30, 0}, SubjectKeyId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, PublicKey: key.Public()}
	tbs := func(tmpl *x509.Certificate) []byte {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, tmpl.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := splitSigned(der)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, shape := range testShapes(t) {
		_, primer := newCSR(t, nil)
		if _, err := renderEndEntity(primer, shape, testEndEntity(t, primer, "primer", eui64.ID{1}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))); err != nil {
			t.Fatal(err)
		}
		_, csr := newCSR(t, nil)
		v := testEndEntity(t, csr, "request", eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0, 0, 9}, time.Date(2027, 6, 7, 8, 9, 10, 0, time.UTC))
		fresh, err := renderEndEntityTemplate(csr, shape, v)
		if err != nil {
			t.Fatal(err)
		}
		cached, err := renderEndEntity(csr, shape, v)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := tbs(fresh), tbs(cached); !bytes.Equal(a, b) {
			t.Errorf("%s: cached render builds TBS\n%x\nfresh render\n%x", name, b, a)
		}
	}
}

// testEndEntity is a request's values for the end-entity template: a fresh
// serial, subject (CN cn, OU 87, User ID id), csr's key identifier and the
// default validity from start.
func testEndEntity(t *testing.T, csr *x509.CertificateRequest, cn string, id eui64.ID, start time.Time) endEntity {
	t.Helper()
	serial, err := newSerial(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject, err := endEntitySubject(cn, "87", id)
	if err != nil {
		t.Fatal(err)
	}
	skid, err := KeyID(csr.RawSubjectPublicKeyInfo)
	if err != nil {
		t.Fatal(err)
	}
	nb, na, err := window(start, 0, DefaultEndEntityYears, start.AddDate(30, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return endEntity{serial: serial, rawSubject: subject, notBefore: nb, notAfter: na, subjectKeyID: skid}
}

// TestAssembledTBSEqualsCreateCertificate: the TBS issuance assembles from
// a shape's skeleton is byte for byte the one the profile template and
// x509.CreateCertificate build for the same request under the same
// issuer, for every profile and role, whatever request built the
// skeleton: validity in UTCTime and in GeneralizedTime (2050 on), serials
// short and long, with and without a CN, and under two issuers.
func TestAssembledTBSEqualsCreateCertificate(t *testing.T) {
	t.Parallel()
	l, err := newLinter(nil)
	if err != nil {
		t.Fatal(err)
	}
	issuerKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	issuers := []*x509.Certificate{
		{RawSubject: []byte{0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x02, 'O', '1'}, SubjectKeyId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, PublicKey: issuerKey.Public()},
		{RawSubject: []byte{0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x02, 'O', '2'}, SubjectKeyId: []byte{9, 8, 7, 6, 5, 4, 3, 2}, PublicKey: issuerKey.Public()},
	}
	fresh := func(csr *x509.CertificateRequest, shape endEntityShape, v endEntity, issuer *x509.Certificate) []byte {
		tmpl, err := renderEndEntityTemplate(csr, shape, v)
		if err != nil {
			t.Fatal(err)
		}
		der, err := l.createCertificate(tmpl, csr.PublicKey, issuer)
		if err != nil {
			t.Fatal(err)
		}
		tbs, _, err := splitSigned(der)
		if err != nil {
			t.Fatal(err)
		}
		return tbs
	}
	compared := 0
	for name, shape := range testShapes(t) {
		for _, issuer := range issuers {
			_, primer := newCSR(t, nil)
			if _, err := l.endEntityTBS(primer, shape, testEndEntity(t, primer, "primer", eui64.ID{1}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), issuer); err != nil {
				t.Fatal(err)
			}
			for i, tc := range []struct {
				cn     string
				start  time.Time
				serial *big.Int
			}{
				{"request", time.Date(2027, 6, 7, 8, 9, 10, 0, time.UTC), nil},
				{"", time.Date(2045, 12, 31, 23, 59, 59, 0, time.UTC), big.NewInt(1)},
				{"a longer common name for the request", time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC), new(big.Int).Lsh(big.NewInt(1), 159)},
			} {
				_, csr := newCSR(t, nil)
				v := testEndEntity(t, csr, tc.cn, eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0, 0, byte(i)}, tc.start)
				if tc.serial != nil {
					v.serial = tc.serial
				}
				got, err := l.endEntityTBS(csr, shape, v, issuer)
				if err != nil {
					t.Fatal(err)
				}
				if want := fresh(csr, shape, v, issuer); !bytes.Equal(got, want) {
					t.Errorf("%s case %d: assembled TBS\n%x\nCreateCertificate's\n%x", name, i, got, want)
				}
				compared++
			}
		}
	}
	if compared == 0 {
		t.Fatal("no profile compared")
	}
}

// TestWithSignatureEqualsParse: the signed certificate issuance returns
// (the lint certificate's parse with the CA's signature) equals a fresh
// parse of the signed DER, field for field; a DER whose TBS differs from
// the linted one is refused.
func TestWithSignatureEqualsParse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.ca.lint
	_, csr := newCSR(t, nil)
	sp := specs[XMLSigning]
	ext, err := role.Extension(role.SoLRContingency)
	if err != nil {
		t.Fatal(err)
	}
	v := testEndEntity(t, csr, "", eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0, 0, 1}, testStart)
	tbs, err := l.endEntityTBS(csr, endEntityShape{keyUsage: sp.keyUsage, policy: OIDOrganisationCertificatePolicy, roleBinding: string(ext.Value)}, v, e.ca.issuing)
	if err != nil {
		t.Fatal(err)
	}
	lintDER, linted, err := l.tbsCertificate(tbs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.ca.signLinted(lintDER, linted)
	if err != nil {
		t.Fatal(err)
	}
	want, err := dccx509.ParseCertificate(got.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("certificate from the lint parse differs from a fresh parse:\n%+v\n%+v", got, want)
	}
	if err := got.CheckSignatureFrom(e.ca.Issuing()); err != nil {
		t.Errorf("signed certificate does not verify under the Issuing OCA: %v", err)
	}
	if _, err := withSignature(linted, e.ca.Issuing().Raw); err == nil {
		t.Error("withSignature accepted another certificate's DER")
	}
}

// testShapes is every profile's end-entity shape with three User Roles,
// by profile/role.
func testShapes(t *testing.T) map[string]endEntityShape {
	t.Helper()
	shapes := map[string]endEntityShape{}
	for name, sp := range specs {
		for _, r := range []role.UserRole{role.SoLRContingency, role.ImportSupplier, role.ElectricityDistributor} {
			var binding []byte
			if sp.roleBinding {
				ext, err := role.Extension(r)
				if err != nil {
					t.Fatal(err)
				}
				binding = ext.Value
			}
			shapes[string(name)+"/"+string(r)] = endEntityShape{keyUsage: sp.keyUsage, policy: OIDOrganisationCertificatePolicy, roleBinding: string(binding)}
		}
	}
	return shapes
}
