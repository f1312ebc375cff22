package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
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
	values := func(csr *x509.CertificateRequest, cn string, id eui64.ID, start time.Time) endEntity {
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
			shape := endEntityShape{keyUsage: sp.keyUsage, policy: OIDOrganisationCertificatePolicy, roleBinding: string(binding)}
			_, primer := newCSR(t, nil)
			if _, err := renderEndEntity(primer, shape, values(primer, "primer", eui64.ID{1}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))); err != nil {
				t.Fatal(err)
			}
			_, csr := newCSR(t, nil)
			v := values(csr, "request", eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0, 0, 9}, time.Date(2027, 6, 7, 8, 9, 10, 0, time.UTC))
			fresh, err := renderEndEntityTemplate(csr, shape, v)
			if err != nil {
				t.Fatal(err)
			}
			cached, err := renderEndEntity(csr, shape, v)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := tbs(fresh), tbs(cached); !bytes.Equal(a, b) {
				t.Errorf("%s/%s: cached render builds TBS\n%x\nfresh render\n%x", name, r, b, a)
			}
		}
	}
}
