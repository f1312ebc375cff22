package ra

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// TestIssuanceFollowsMatrix walks every role x profile through every
// issuing path of the real RA and CA (enrol, renew, rekey) and checks that
// a certificate is issued exactly when the matrix allows it, and that what
// is issued has the profile's shape and the user's role binding.
func TestIssuanceFollowsMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	party := e.party("90-B3-D5-1F-30-00-00-09", "Everyone Ltd")
	sro := e.officer(e.admin, "sro-all", KindSRO, party)
	users := map[role.UserRole]eui64.ID{}
	for i, r := range role.All() {
		users[r] = e.user(fmt.Sprintf("90-B3-D5-1F-30-09-00-%02X", i+1), party, r)
	}
	for _, r := range role.All() {
		uid := users[r]
		// A certificate this user legitimately holds, to aim renew/rekey of
		// an ineligible profile at.
		base, err := e.svc.Enrol(ctx, sro, EnrolRequest{UserID: uid, Profile: ca.XMLSigning,
			CSR: ratest.CSR(t, ratest.NewKey(t), uid, r, ca.XMLSigning), Mode: ModeEnrol})
		if err != nil {
			t.Fatalf("%s base xml-signing: %v", r, err)
		}
		for _, p := range ca.Profiles() {
			eligible := slices.Contains(EligibleProfiles(r), p)
			k := ratest.NewKey(t)
			// Build the CSR by hand for the ineligible case: NewCSR refuses.
			csr := ratest.RawCSR(t, k, uid, ExpectedOU(r, p))
			is, err := e.svc.Enrol(ctx, sro, EnrolRequest{UserID: uid, Profile: p, CSR: csr, Mode: ModeEnrol})
			if !eligible {
				if !errors.Is(err, ErrNotEligible) {
					t.Errorf("%s %s enrol: got %v, want %v", r, p, err, ErrNotEligible)
				}
				for _, m := range []EnrolMode{ModeRenew, ModeRekey} {
					_, err := e.svc.Enrol(ctx, sro, EnrolRequest{UserID: uid, Profile: p, CSR: csr, Mode: m, Replaces: base.Cert.Serial})
					if !errors.Is(err, ErrNotEligible) {
						t.Errorf("%s %s %s: got %v, want %v", r, p, m, err, ErrNotEligible)
					}
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %s enrol: %v", r, p, err)
			}
			ratest.CheckShape(t, ratest.ParseCert(t, is.CertPEM), r, p)
			ren, err := e.svc.Enrol(ctx, sro, EnrolRequest{UserID: uid, Profile: p, CSR: csr, Mode: ModeRenew, Replaces: is.Cert.Serial})
			if err != nil {
				t.Fatalf("%s %s renew: %v", r, p, err)
			}
			ratest.CheckShape(t, ratest.ParseCert(t, ren.CertPEM), r, p)
			rk, err := e.svc.Enrol(ctx, sro, EnrolRequest{UserID: uid, Profile: p, CSR: ratest.CSR(t, ratest.NewKey(t), uid, r, p), Mode: ModeRekey, Replaces: ren.Cert.Serial})
			if err != nil {
				t.Fatalf("%s %s rekey: %v", r, p, err)
			}
			ratest.CheckShape(t, ratest.ParseCert(t, rk.CertPEM), r, p)
		}
	}
	// Whatever happened above, the store holds no SC certificate but
	// xml-signing ones.
	err := e.st.View(ctx, func(tx store.Tx) error {
		cs, err := tx.ListCertificates(store.CertFilter{UserID: users[role.SoLRContingency].String()})
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			t.Error("SC has no certificate at all")
		}
		for _, c := range cs {
			if c.Profile != string(ca.XMLSigning) {
				t.Errorf("SC holds a %s certificate %s", c.Profile, c.Serial)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
