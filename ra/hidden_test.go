package ra

import (
	"context"
	"strings"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
)

// TestFinding7NotYoursIsNotThere is issue 12's finding 7: party B's officer
// asking for party A's serial got E_RA_FORBIDDEN naming party A, an unknown
// serial E_RA_NOT_FOUND. For serials (read and revoke) and User IDs
// (revoke-by-user, enrolment) the two answers are now one, naming no party.
func TestFinding7NotYoursIsNotThere(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	is, err := s.svc.Enrol(ctx, s.aroSup, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
		CSR: ratest.CSR(t, ratest.NewKey(t), s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
	if err != nil {
		t.Fatal(err)
	}
	const unknown = "7123456789abcdef0123456789abcdef"
	unknownUser := eui64.MustParse("90-B3-D5-1F-30-01-0F-0F")
	answer := func(err error, id string) string {
		if err == nil {
			t.Fatalf("%s: allowed", id)
		}
		return CodeOf(err) + " " + strings.ReplaceAll(err.Error(), id, "ID")
	}
	for _, tc := range []struct {
		name       string
		theirs, no func() (error, string, string)
	}{
		{"read serial",
			func() (error, string, string) {
				_, e := s.svc.GetCertificate(ctx, s.sroSR, is.Cert.Serial)
				return e, is.Cert.Serial, ""
			},
			func() (error, string, string) {
				_, e := s.svc.GetCertificate(ctx, s.sroSR, unknown)
				return e, unknown, ""
			}},
		{"revoke serial",
			func() (error, string, string) {
				_, e := s.svc.Revoke(ctx, s.sroSR, RevokeRequest{Serial: is.Cert.Serial, Reason: 1})
				return e, is.Cert.Serial, ""
			},
			func() (error, string, string) {
				_, e := s.svc.Revoke(ctx, s.sroSR, RevokeRequest{Serial: unknown, Reason: 1})
				return e, unknown, ""
			}},
		{"revoke user",
			func() (error, string, string) {
				_, e := s.svc.Revoke(ctx, s.sroSR, RevokeRequest{UserID: s.userIS, Reason: 1, Yes: true})
				return e, s.userIS.String(), ""
			},
			func() (error, string, string) {
				_, e := s.svc.Revoke(ctx, s.sroSR, RevokeRequest{UserID: unknownUser, Reason: 1, Yes: true})
				return e, unknownUser.String(), ""
			}},
		{"enrol user",
			func() (error, string, string) {
				_, e := s.svc.Enrol(ctx, s.sroSR, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
					CSR: ratest.CSR(t, ratest.NewKey(t), s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
				return e, s.userIS.String(), ""
			},
			func() (error, string, string) {
				_, e := s.svc.Enrol(ctx, s.sroSR, EnrolRequest{UserID: unknownUser, Profile: ca.XMLSigning,
					CSR: ratest.CSR(t, ratest.NewKey(t), unknownUser, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
				return e, unknownUser.String(), ""
			}},
	} {
		e1, id1, _ := tc.theirs()
		e2, id2, _ := tc.no()
		a1, a2 := answer(e1, id1), answer(e2, id2)
		if a1 != a2 {
			t.Errorf("%s: not yours %q, not there %q: want one answer", tc.name, a1, a2)
		}
		if strings.Contains(e1.Error(), s.supplier.String()) {
			t.Errorf("%s: the answer names the owning party: %v", tc.name, e1)
		}
	}
}
