package ra

import (
	"context"
	"strings"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
)

// TestFinding7NotYoursIsNotThere is issue 12's finding 7: party B's officer
// asking for party A's serial got E_RA_FORBIDDEN naming party A, an unknown
// serial E_RA_NOT_FOUND. For every record a party officer can name (serial,
// User ID, officer, SoLR event, signer revocation request, party) and every
// call that names one, the two answers are now one, E_RA_NOT_FOUND "no
// <what> <id> among your party's", naming no party; the refusal's audit
// record keeps what really happened (E_RA_FORBIDDEN). RA officers, and
// party officers refused a record they may see, keep the precise answer.
func TestFinding7NotYoursIsNotThere(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	ev := s.declare(s.liaison, nil, nil) // failed party: the supplier; SRP: s.srp
	sig := s.withSigner()
	sreq, err := s.svc.RequestSignerRevocation(ctx, s.admin, ca.SerialHex(sig.Chain()[0].SerialNumber), 1)
	if err != nil {
		t.Fatal(err)
	}
	const unknown = "7123456789abcdef0123456789abcdef"
	unknownUser := eui64.MustParse("90-B3-D5-1F-30-01-0F-0F")
	unknownParty := eui64.MustParse("90-B3-D5-1F-30-00-0F-0F")
	const unknownOfficer, unknownEvent, unknownReq = "nobody-here", "solr-20240101-0123456789ab", "signer-revocation-20240101-0123456789ab"
	adt := func(a Actor, key string, sc eui64.ID) error {
		file := adtJSON(sc, s.userIS2, `{"srv":"1.6","period":"1h","warning":1,"quarantine":2}`)
		sg, err := adtfile.Sign(s.signerOf(key), file)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.svc.SubmitADT(ctx, a, file, sg)
		return err
	}
	answer := func(name string, err error, id string) string {
		if err == nil {
			t.Fatalf("%s %s: allowed", name, id)
		}
		return CodeOf(err) + " " + strings.ReplaceAll(err.Error(), id, "ID")
	}

	// A party officer: another party's record and none get one answer.
	type call func(id string) error
	for _, tc := range []struct {
		name, what  string
		act         Action
		call        call
		theirs, not string
	}{
		{"read serial", "certificate", ActReadParty, func(id string) error {
			_, e := s.svc.GetCertificate(ctx, s.sroSR, id)
			return e
		}, s.isSerial, unknown},
		{"revoke serial", "certificate", ActRevoke, func(id string) error {
			_, e := s.svc.Revoke(ctx, s.sroSR, RevokeRequest{Serial: id, Reason: 1})
			return e
		}, s.isSerial, unknown},
		{"revoke user", "user", ActRevokeUser, func(id string) error {
			_, e := s.svc.Revoke(ctx, s.sroSR, RevokeRequest{UserID: eui64.MustParse(id), Reason: 1, Yes: true})
			return e
		}, s.userIS.String(), unknownUser.String()},
		{"enrol user", "user ID", ActEnrol, func(id string) error {
			u := eui64.MustParse(id)
			_, e := s.svc.Enrol(ctx, s.sroSR, EnrolRequest{UserID: u, Profile: ca.XMLSigning,
				CSR: ratest.CSR(t, ratest.NewKey(t), u, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
			return e
		}, s.userIS.String(), unknownUser.String()},
		{"read user", "user", ActReadParty, func(id string) error {
			_, e := s.svc.GetUser(ctx, s.sroSR, eui64.MustParse(id))
			return e
		}, s.userIS.String(), unknownUser.String()},
		{"list a user's certificates", "user", ActReadParty, func(id string) error {
			_, e := s.svc.ListCertificates(ctx, s.sroSR, CertQuery{UserID: eui64.MustParse(id)})
			return e
		}, s.userIS.String(), unknownUser.String()},
		{"list a user's certificates in my party", "user", ActReadParty, func(id string) error {
			_, e := s.svc.ListCertificates(ctx, s.sroSR, CertQuery{PartyID: s.srp, UserID: eui64.MustParse(id)})
			return e
		}, s.userIS.String(), unknownUser.String()},
		{"list a supplier user's devices", "user", ActReadDevices, func(id string) error {
			_, e := s.svc.ListDevices(ctx, s.sroSR, eui64.MustParse(id))
			return e
		}, s.userIS.String(), unknownUser.String()},
		{"submit ADT for an SC user", "SC user", ActSubmitADT, func(id string) error {
			return adt(s.aroSup, "aro-a", eui64.MustParse(id))
		}, s.userSC.String(), unknownUser.String()},
		{"read SoLR event", "SoLR event", ActReadSoLR, func(id string) error {
			_, e := s.svc.GetSoLR(ctx, s.sroSup, id)
			return e
		}, ev.ID, unknownEvent},
		{"approve SoLR event", "SoLR event", ActApproveSoLR, func(id string) error {
			_, e := s.svc.ApproveSoLR(ctx, s.sroSup, id)
			return e
		}, ev.ID, unknownEvent},
		{"approve signer revocation", "signer revocation request", ActApproveSignerRevocation, func(id string) error {
			_, e := s.svc.ApproveSignerRevocation(ctx, s.sroSR, id)
			return e
		}, sreq.ID, unknownReq},
		{"remove officer", "officer", ActRemoveOfficer, func(id string) error {
			_, e := s.svc.RemoveOfficer(ctx, s.sroSR, id)
			return e
		}, "aro-a", unknownOfficer},
		{"remove RA officer", "officer", ActRemoveOfficer, func(id string) error {
			_, e := s.svc.RemoveOfficer(ctx, s.sroSR, id)
			return e
		}, "liaison", unknownOfficer},
		{"re-issue officer", "officer", ActReissueOfficer, func(id string) error {
			_, _, e := s.svc.RenewOfficerCredential(ctx, s.sroSR, id, officerCSR(t, ratest.NewKey(t)))
			return e
		}, "aro-a", unknownOfficer},
		{"read party", "party", ActReadParty, func(id string) error {
			_, e := s.svc.GetParty(ctx, s.sroSR, eui64.MustParse(id))
			return e
		}, s.supplier.String(), unknownParty.String()},
		{"revoke party", "party", ActRevokeParty, func(id string) error {
			_, e := s.svc.Revoke(ctx, s.sroSR, RevokeRequest{PartyID: eui64.MustParse(id), Reason: 1})
			return e
		}, s.supplier.String(), unknownParty.String()},
		{"appoint officer in party", "party", ActAppointOfficer, func(id string) error {
			_, _, e := s.svc.AppointOfficer(ctx, s.sroSR, OfficerRequest{ID: "aro-x", Name: "X", Kind: KindARO,
				PartyID: eui64.MustParse(id), CSR: officerCSR(t, ratest.NewKey(t))})
			return e
		}, s.supplier.String(), unknownParty.String()},
	} {
		e1 := tc.call(tc.theirs)
		audit := s.lastAudit(tc.act)
		e2 := tc.call(tc.not)
		a1, a2 := answer(tc.name, e1, tc.theirs), answer(tc.name, e2, tc.not)
		if a1 != a2 {
			t.Errorf("%s: not yours %q, not there %q: want one answer", tc.name, a1, a2)
		}
		if want := "no " + tc.what + " ID among your party's"; CodeOf(e1) != ErrNotFound.Error() || !strings.Contains(a1, want) {
			t.Errorf("%s: %q, want %s %q", tc.name, a1, ErrNotFound, want)
		}
		for _, p := range []eui64.ID{s.supplier, s.srp} {
			if strings.Contains(a1, p.String()) {
				t.Errorf("%s: the answer names party %s: %v", tc.name, p, e1)
			}
		}
		// The audit keeps what happened, and what the caller was told.
		if !strings.Contains(audit.Result, ErrForbidden.Error()) || !strings.Contains(audit.Detail, "answered: "+ErrNotFound.Error()) {
			t.Errorf("%s: audit %q %q, want %s and the answer given", tc.name, audit.Result, audit.Detail, ErrForbidden)
		}
	}

	// RA officers, and party officers refused a record they may see, get
	// the precise answer.
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"ra-approver removes a party's ARO", func() error {
			_, e := s.svc.RemoveOfficer(ctx, s.approver, "aro-a")
			return e
		}(), ErrForbidden},
		{"ra-operator removes no such officer", func() error {
			_, e := s.svc.RemoveOfficer(ctx, s.admin, unknownOfficer)
			return e
		}(), ErrNotFound},
		{"SRO removes its own party's SRO", func() error {
			_, e := s.svc.RemoveOfficer(ctx, s.sroSup, "sro-a")
			return e
		}(), ErrForbidden},
		{"ARO re-issues its own party's SRO", func() error {
			_, _, e := s.svc.RenewOfficerCredential(ctx, s.aroSup, "sro-a", officerCSR(t, ratest.NewKey(t)))
			return e
		}(), ErrForbidden},
		{"SRP's SRO approves its own party's event", func() error {
			_, e := s.svc.ApproveSoLR(ctx, s.sroSR, ev.ID)
			return e
		}(), ErrForbidden},
		{"ra-approver approves no such event", func() error {
			_, e := s.svc.ApproveSoLR(ctx, s.approver, unknownEvent)
			return e
		}(), ErrNotFound},
		{"ra-operator reads no such event", func() error {
			_, e := s.svc.GetSoLR(ctx, s.admin, unknownEvent)
			return e
		}(), ErrNotFound},
		{"ARO revokes its own party", func() error {
			_, e := s.svc.Revoke(ctx, s.aroSup, RevokeRequest{PartyID: s.supplier, Reason: 1})
			return e
		}(), ErrForbidden},
		{"ra-operator revokes no such party", func() error {
			_, e := s.svc.Revoke(ctx, s.admin, RevokeRequest{PartyID: unknownParty, Reason: 1})
			return e
		}(), ErrNotFound},
		{"ra-operator reads no such party", func() error {
			_, e := s.svc.GetParty(ctx, s.admin, unknownParty)
			return e
		}(), ErrNotFound},
		{"authority-liaison lists a user under the wrong party", func() error {
			_, e := s.svc.ListCertificates(ctx, s.liaison, CertQuery{PartyID: s.srp, UserID: s.userIS})
			return e
		}(), ErrBadRequest},
		{"ra-operator lists the devices of no such user", func() error {
			_, e := s.svc.ListDevices(ctx, s.admin, unknownUser)
			return e
		}(), ErrNotFound},
		{"SRP's ARO names an SC user that is not SC", func() error {
			return adt(s.aroSR, "aro-srp", s.user("90-B3-D5-1F-30-01-00-05", s.srp, role.OtherUser))
		}(), ErrADTUser},
	} {
		if CodeOf(tc.err) != tc.want.Error() || strings.Contains(tc.err.Error(), "among your party's") {
			t.Errorf("%s: %v, want the precise %s", tc.name, tc.err, tc.want)
		}
	}
}
