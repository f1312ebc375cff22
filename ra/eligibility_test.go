package ra

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
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
			CSR: csrFor(t, newKey(t), uid, r, ca.XMLSigning), Mode: ModeEnrol})
		if err != nil {
			t.Fatalf("%s base xml-signing: %v", r, err)
		}
		for _, p := range ca.Profiles() {
			eligible := slices.Contains(EligibleProfiles(r), p)
			k := newKey(t)
			// Build the CSR by hand for the ineligible case: NewCSR refuses.
			csr := rawCSR(t, k, uid, ExpectedOU(r, p))
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
			checkShape(t, parseIssued(t, is), r, p)
			ren, err := e.svc.Enrol(ctx, sro, EnrolRequest{UserID: uid, Profile: p, CSR: csr, Mode: ModeRenew, Replaces: is.Cert.Serial})
			if err != nil {
				t.Fatalf("%s %s renew: %v", r, p, err)
			}
			checkShape(t, parseIssued(t, ren), r, p)
			rk, err := e.svc.Enrol(ctx, sro, EnrolRequest{UserID: uid, Profile: p, CSR: csrFor(t, newKey(t), uid, r, p), Mode: ModeRekey, Replaces: ren.Cert.Serial})
			if err != nil {
				t.Fatalf("%s %s rekey: %v", r, p, err)
			}
			checkShape(t, parseIssued(t, rk), r, p)
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

// checkShape checks an issued certificate against the profile and role.
func checkShape(t *testing.T, c *x509.Certificate, r role.UserRole, p ca.Profile) {
	t.Helper()
	if len(c.Subject.OrganizationalUnit) != 1 || c.Subject.OrganizationalUnit[0] != ExpectedOU(r, p) {
		t.Errorf("%s %s: OU %v, want %s", r, p, c.Subject.OrganizationalUnit, ExpectedOU(r, p))
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
