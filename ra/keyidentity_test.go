package ra

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/csrtest"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
)

// TestFinding2KeyCertifiedOnce is issue 12's finding 2 at the RA: a key
// re-encoded with trailing SPKI elements was certified for an IS user's
// XML Signing certificate and an ES user's Digital Signing certificate, and
// twice for one user in enrol mode. Every re-encoding is refused with
// E_RA_CSR_NOT_CANONICAL, and writes no certificate.
func TestFinding2KeyCertifiedOnce(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	userES := s.user("90-B3-D5-1F-30-01-00-03", s.supplier, role.ExportSupplier)
	k := ratest.NewKey(t)
	if _, err := s.svc.Enrol(ctx, s.aroSup, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
		CSR: ratest.CSR(t, k, s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol}); err != nil {
		t.Fatal(err)
	}
	variants, err := csrtest.NonCanonical(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	reencode := func(id eui64.ID, r role.UserRole, p ca.Profile, spki []byte) []byte {
		c, err := x509.ParseCertificateRequest(pemBlock(t, ratest.CSR(t, k, id, r, p)))
		if err != nil {
			t.Fatal(err)
		}
		der, err := csrtest.Build(k, c.RawSubject, spki)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	}
	for _, v := range variants {
		for _, tc := range []struct {
			name string
			req  EnrolRequest
		}{
			{"ES user, digital-signing", EnrolRequest{UserID: userES, Profile: ca.DigitalSigning,
				CSR: reencode(userES, role.ExportSupplier, ca.DigitalSigning, v.SPKI), Mode: ModeEnrol}},
			{"same IS user, enrol again", EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
				CSR: reencode(s.userIS, role.ImportSupplier, ca.XMLSigning, v.SPKI), Mode: ModeEnrol}},
		} {
			_, err := s.svc.Enrol(ctx, s.aroSup, tc.req)
			if !errors.Is(err, ErrCSRNotCanonical) || CodeOf(err) != "E_RA_CSR_NOT_CANONICAL" {
				t.Errorf("%s, %s: err = %v (code %s), want E_RA_CSR_NOT_CANONICAL", v.Name, tc.name, err, CodeOf(err))
			}
		}
	}
	for _, id := range []eui64.ID{s.userIS, userES} {
		certs, err := s.svc.ListCertificates(ctx, s.aroSup, CertQuery{UserID: id})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[eui64.ID]int{s.userIS: 1, userES: 0}[id]; len(certs) != want {
			t.Errorf("user %s holds %d certificates, want %d", id, len(certs), want)
		}
	}
}

func pemBlock(t testing.TB, p []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(p)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}
