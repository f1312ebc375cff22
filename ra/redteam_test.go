package ra

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// The red-team review of the RA's authorisation (h14): every attack is
// made through the Service as the server would, and every refusal must
// both carry its stable code and leave an audit record.

// redTeam is the SoLR scenario plus a second supplier party's own SRO and
// ARO (party B), who attack party A (the supplier) and the SRP, and a
// declared event.
type redTeam struct {
	*solrScenario
	sroB, aroB Actor
	event      SoLREvent
}

func newRedTeam(t *testing.T) *redTeam {
	t.Helper()
	s := newSoLRScenario(t)
	r := &redTeam{solrScenario: s}
	r.sroB = s.officer(s.admin, "sro-b", KindSRO, s.otherSupplier)
	r.aroB = s.officer(r.sroB, "aro-b", KindARO, s.otherSupplier)
	r.event = s.declare(s.liaison, nil, nil)
	return r
}

// audited is the code the audit records for a refusal answered code: every
// record these attacks name exists, so an E_RA_NOT_FOUND is a party
// officer told another party's record is not there (finding 7), and the
// audit keeps what happened, E_RA_FORBIDDEN.
func audited(code error) error {
	if code == ErrNotFound {
		return ErrForbidden
	}
	return code
}

func TestRedTeamCrossParty(t *testing.T) {
	t.Parallel()
	r := newRedTeam(t)
	r.withSigner()
	ctx := context.Background()
	adtFile := adtJSON(r.userSC, r.userIS, `{"srv":"1.6","period":"24h","warning":5,"quarantine":10}`)
	tests := []struct {
		name string
		act  Action
		code error
		do   func() error
	}{
		// Not yours and not there are one answer (issue 12, finding 7).
		{"read A's certificate by serial", ActReadParty, ErrNotFound, func() error {
			_, err := r.svc.GetCertificate(ctx, r.aroB, r.isSerial)
			return err
		}},
		{"revoke A's certificate by serial", ActRevoke, ErrNotFound, func() error {
			_, err := r.svc.Revoke(ctx, r.aroB, RevokeRequest{Serial: r.isSerial})
			return err
		}},
		{"dry-run revoke A's certificate by serial", ActRevoke, ErrNotFound, func() error {
			_, err := r.svc.Revoke(ctx, r.aroB, RevokeRequest{Serial: r.isSerial, DryRun: true})
			return err
		}},
		{"revoke A's user", ActRevokeUser, ErrNotFound, func() error {
			_, err := r.svc.Revoke(ctx, r.sroB, RevokeRequest{UserID: r.userIS, Yes: true})
			return err
		}},
		{"revoke party A", ActRevokeParty, ErrNotFound, func() error {
			_, err := r.svc.Revoke(ctx, r.sroB, RevokeRequest{PartyID: r.supplier, Yes: true})
			return err
		}},
		{"list A's user's certificates", ActReadParty, ErrNotFound, func() error {
			_, err := r.svc.ListCertificates(ctx, r.aroB, CertQuery{UserID: r.userIS})
			return err
		}},
		{"list party A's certificates", ActReadParty, ErrForbidden, func() error {
			_, err := r.svc.ListCertificates(ctx, r.aroB, CertQuery{PartyID: r.supplier})
			return err
		}},
		{"read party A", ActReadParty, ErrNotFound, func() error {
			_, err := r.svc.GetParty(ctx, r.aroB, r.supplier)
			return err
		}},
		{"list A's users", ActReadParty, ErrForbidden, func() error {
			_, err := r.svc.ListUsers(ctx, r.aroB, r.supplier)
			return err
		}},
		{"list A's officers", ActReadParty, ErrForbidden, func() error {
			_, err := r.svc.ListOfficers(ctx, r.sroB, r.supplier)
			return err
		}},
		{"remove A's ARO", ActRemoveOfficer, ErrNotFound, func() error {
			_, err := r.svc.RemoveOfficer(ctx, r.sroB, "aro-a")
			return err
		}},
		{"appoint an ARO in party A", ActAppointOfficer, ErrNotFound, func() error {
			_, _, err := r.svc.AppointOfficer(ctx, r.sroB, OfficerRequest{ID: "mole", Name: "Mole", Kind: KindARO, PartyID: r.supplier})
			return err
		}},
		{"appoint an SRO in party A", ActAppointOfficer, ErrNotFound, func() error {
			_, _, err := r.svc.AppointOfficer(ctx, r.sroB, OfficerRequest{ID: "mole", Name: "Mole", Kind: KindSRO, PartyID: r.supplier})
			return err
		}},
		{"enrol for A's user", ActEnrol, ErrNotFound, func() error { // not yours is not there (finding 7)
			_, err := r.svc.Enrol(ctx, r.aroB, EnrolRequest{UserID: r.userIS, Profile: ca.XMLSigning,
				CSR: ratest.CSR(t, ratest.NewKey(t), r.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
			return err
		}},
		{"renew own user through A's certificate", ActEnrol, ErrReplaced, func() error {
			_, err := r.svc.Enrol(ctx, r.aroB, EnrolRequest{UserID: r.userIS2, Profile: ca.XMLSigning,
				CSR: ratest.CSR(t, ratest.NewKey(t), r.userIS2, role.ImportSupplier, ca.XMLSigning), Mode: ModeRekey, Replaces: r.isSerial})
			return err
		}},
		{"list A's devices", ActReadDevices, ErrNotFound, func() error {
			_, err := r.svc.ListDevices(ctx, r.aroB, r.userIS)
			return err
		}},
		{"list every device", ActReadDevices, ErrForbidden, func() error {
			_, err := r.svc.ListDevices(ctx, r.aroB, eui64.ID{})
			return err
		}},
		{"read the SRP's event", ActReadSoLR, ErrNotFound, func() error {
			_, err := r.svc.GetSoLR(ctx, r.aroB, r.event.ID)
			return err
		}},
		{"failed party's own ARO reads the event", ActReadSoLR, ErrNotFound, func() error {
			_, err := r.svc.GetSoLR(ctx, r.aroSup, r.event.ID)
			return err
		}},
		{"submit ADT for the SRP's SC user", ActSubmitADT, ErrNotFound, func() error {
			sig, err := adtfile.Sign(r.signerOf("aro-b"), adtFile)
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.svc.SubmitADT(ctx, r.aroB, adtFile, sig)
			return err
		}},
		{"submit the SRP ARO's signed ADT as someone else", ActSubmitADT, ErrADTSignature, func() error {
			sig, err := adtfile.Sign(r.signerOf("aro-srp"), adtFile)
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.svc.SubmitADT(ctx, r.aroB, adtFile, sig)
			return err
		}},
		// The bundle holds every party's users, every ADT file and the whole
		// device registry: a party officer reading it would bypass every
		// per-party read rule above (h14 decision: RA officers and verifier
		// credentials only).
		{"read the whole bundle", ActReadBundle, ErrForbidden, func() error {
			_, err := r.svc.ExportBundle(ctx, r.aroB)
			return err
		}},
		{"SRP's own SRO reads the whole bundle", ActReadBundle, ErrForbidden, func() error {
			_, err := r.svc.ExportBundle(ctx, r.sroSR)
			return err
		}},
	}
	for _, tc := range tests {
		// Sequential: each case checks the audit tail its own refusal wrote.
		err := tc.do()
		if !errors.Is(err, tc.code) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.code)
			continue
		}
		if got := r.lastAudit(tc.act); got.Result != "refused: "+audited(tc.code).Error() {
			t.Errorf("%s: last %s audit record is %q, want the refusal", tc.name, tc.act, got.Result)
		}
	}
	// Lists are scoped, not refused: B sees none of A's or the SRP's.
	if es, err := r.svc.ListSoLR(ctx, r.aroB); err != nil || len(es) != 0 {
		t.Errorf("B lists events: %v %v", es, err)
	}
	if cs, err := r.svc.ListCertificates(ctx, r.aroB, CertQuery{}); err != nil || len(cs) != 0 {
		t.Errorf("B lists certificates: %v %v", cs, err)
	}
	// Users and officers alike: an unscoped list is B's own party's
	// (smki user list, smki officer list without --party), never A's.
	if us, err := r.svc.ListUsers(ctx, r.aroB, eui64.ID{}); err != nil || len(us) != 1 || us[0].ID != r.userIS2 {
		t.Errorf("B lists users: %v %v, want B's one user %s", us, err, r.userIS2)
	}
	os, err := r.svc.ListOfficers(ctx, r.sroB, eui64.ID{})
	if err != nil || len(os) != 2 || os[0].PartyID != r.otherSupplier.String() || os[1].PartyID != r.otherSupplier.String() {
		t.Errorf("B lists officers: %v %v, want B's SRO and ARO", os, err)
	}
	// The feed stays open to every active officer: it holds only what the
	// published ORL holds.
	if err := r.svc.authorizeFeed(ctx, r.aroB); err != nil {
		t.Errorf("B reads the feed: %v", err)
	}
	// The SRP's own officers, RA officers and verifiers keep what is theirs.
	if _, err := r.svc.GetSoLR(ctx, r.aroSR, r.event.ID); err != nil {
		t.Errorf("SRP ARO reads its event: %v", err)
	}
	ver := r.officer(r.admin, "verifier-1", KindVerifier, eui64.ID{})
	for _, a := range []Actor{r.admin, r.approver, r.liaison, ver} {
		if _, err := r.svc.ExportBundle(ctx, a); err != nil {
			t.Errorf("%s reads the bundle: %v", a.ID(), err)
		}
	}
	if st := r.certStatus(r.isSerial).Status; st != store.StatusGood {
		t.Fatalf("A's certificate is %s after the attacks", st)
	}
}

func TestRedTeamEscalation(t *testing.T) {
	t.Parallel()
	r := newRedTeam(t)
	ctx := context.Background()
	ver := r.officer(r.admin, "verifier-1", KindVerifier, eui64.ID{})
	appoint := func(by Actor, id, kind string, party eui64.ID) func() error {
		return func() error {
			_, _, err := r.svc.AppointOfficer(ctx, by, OfficerRequest{ID: id, Name: "X", Kind: kind, PartyID: party})
			return err
		}
	}
	tests := []struct {
		name string
		act  Action
		code error
		do   func() error
	}{
		{"ARO appoints an ARO", ActAppointOfficer, ErrForbidden, appoint(r.aroSup, "x1", KindARO, r.supplier)},
		{"ARO appoints an SRO", ActAppointOfficer, ErrForbidden, appoint(r.aroSup, "x2", KindSRO, r.supplier)},
		{"SRO appoints an ra-operator", ActAppointOfficer, ErrForbidden, appoint(r.sroSup, "x3", KindRAOperator, eui64.ID{})},
		{"SRO appoints an ra-approver", ActAppointOfficer, ErrForbidden, appoint(r.sroSup, "x4", KindRAApprover, eui64.ID{})},
		{"SRO appoints a verifier", ActAppointOfficer, ErrForbidden, appoint(r.sroSup, "x5", KindVerifier, eui64.ID{})},
		{"verifier appoints a verifier", ActAppointOfficer, ErrForbidden, appoint(ver, "x6", KindVerifier, eui64.ID{})},
		{"liaison appoints an approver", ActAppointOfficer, ErrForbidden, appoint(r.liaison, "x7", KindRAApprover, eui64.ID{})},
		{"SRO removes an SRO (itself)", ActRemoveOfficer, ErrForbidden, func() error {
			_, err := r.svc.RemoveOfficer(ctx, r.sroSup, "sro-a")
			return err
		}},
		{"SRO removes the ra-operator", ActRemoveOfficer, ErrNotFound, func() error {
			_, err := r.svc.RemoveOfficer(ctx, r.sroSup, "admin")
			return err
		}},
		{"ARO bulk-revokes its own party", ActRevokeParty, ErrForbidden, func() error {
			_, err := r.svc.Revoke(ctx, r.aroSup, RevokeRequest{PartyID: r.supplier, Yes: true})
			return err
		}},
		{"ra-operator enrols on a user's behalf", ActEnrol, ErrForbidden, func() error {
			_, err := r.svc.Enrol(ctx, r.admin, EnrolRequest{UserID: r.userIS, Profile: ca.XMLSigning,
				CSR: ratest.CSR(t, ratest.NewKey(t), r.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
			return err
		}},
		{"verifier lists parties", ActReadParty, ErrForbidden, func() error {
			_, err := r.svc.ListParties(ctx, ver)
			return err
		}},
		{"verifier reads a certificate", ActReadParty, ErrForbidden, func() error {
			_, err := r.svc.GetCertificate(ctx, ver, r.isSerial)
			return err
		}},
		{"verifier declares", ActDeclareSoLR, ErrForbidden, func() error {
			_, err := r.svc.DeclareSoLR(ctx, ver, DeclareRequest{FailedParty: r.otherSupplier, SRPUser: r.userSC, Instruction: "x"})
			return err
		}},
		{"verifier revokes", ActRevoke, ErrForbidden, func() error {
			_, err := r.svc.Revoke(ctx, ver, RevokeRequest{Serial: r.isSerial})
			return err
		}},
		{"liaison approves its own event: four-eyes first", ActApproveSoLR, ErrFourEyes, func() error {
			_, err := r.svc.ApproveSoLR(ctx, r.liaison, r.event.ID)
			return err
		}},
		{"SRP's SRO approves its own event", ActApproveSoLR, ErrForbidden, func() error {
			_, err := r.svc.ApproveSoLR(ctx, r.sroSR, r.event.ID)
			return err
		}},
		{"SRP's SRO closes its event", ActCloseSoLR, ErrForbidden, func() error {
			_, err := r.svc.CloseSoLR(ctx, r.sroSR, r.event.ID, "")
			return err
		}},
		{"party SRO sets the allow-list", ActSetAllowList, ErrForbidden, func() error {
			_, err := r.svc.SetAllowList(ctx, r.sroSR, role.SoLRContingency, []string{"1.6"})
			return err
		}},
		{"party SRO imports devices", ActImportDevice, ErrForbidden, func() error {
			_, err := r.svc.ImportDevices(ctx, r.sroSup, []byte(devicefile.Header+"\n00-DB-12-34-56-78-90-C0,"+r.userIS.String()+",1\n"))
			return err
		}},
	}
	for _, tc := range tests {
		err := tc.do()
		if !errors.Is(err, tc.code) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.code)
			continue
		}
		if got := r.lastAudit(tc.act); got.Result != "refused: "+audited(tc.code).Error() {
			t.Errorf("%s: last %s audit record is %q, want the refusal", tc.name, tc.act, got.Result)
		}
	}
	if st := r.certStatus(r.isSerial).Status; st != store.StatusGood {
		t.Fatalf("A's certificate is %s after the attacks", st)
	}
}

// TestRedTeamFourEyesByAppointment: appointing an officer hands its private
// key to the appointer (AppointOfficer returns the credential), so an
// ra-operator who appoints an approver holds that approver's key. Four-eyes
// keyed only on officer IDs lets one person declare and approve.
func TestRedTeamFourEyesByAppointment(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	// 1. The operator declares, then approves with an approver it minted.
	own := s.officer(s.admin, "approver-2", KindRAApprover, eui64.ID{})
	ev := s.declare(s.admin, nil, nil)
	_, err := s.svc.ApproveSoLR(ctx, own, ev.ID)
	s.wantRefusal(err, ErrFourEyes, ActApproveSoLR)
	if _, err := s.svc.CloseSoLR(ctx, s.admin, ev.ID, ""); err != nil {
		t.Fatal(err)
	}
	// 2. The operator mints both a liaison and an approver, declares as
	// one and approves as the other.
	li2 := s.officer(s.admin, "liaison-2", KindAuthorityLiaison, eui64.ID{})
	ev = s.declare(li2, nil, nil)
	_, err = s.svc.ApproveSoLR(ctx, own, ev.ID)
	s.wantRefusal(err, ErrFourEyes, ActApproveSoLR)
	// An approver from another custody line (the bootstrap approver) may.
	if res, err := s.svc.ApproveSoLR(ctx, s.approver, ev.ID); err != nil || res.Event.ApprovedBy != "approver" {
		t.Fatalf("independent approver: %+v %v", res, err)
	}
}

func TestRedTeamStaleCredentials(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	// A removed officer's already-authenticated actor (an open connection)
	// is refused on its next decision.
	if _, err := s.svc.RemoveOfficer(ctx, s.sroSup, "aro-a"); err != nil {
		t.Fatal(err)
	}
	_, err := s.svc.Enrol(ctx, s.aroSup, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
		CSR: ratest.CSR(t, ratest.NewKey(t), s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
	s.wantRefusal(err, ErrOfficerInactive, ActEnrol)
	if _, err := s.svc.ListParties(ctx, s.aroSup); !errors.Is(err, ErrOfficerInactive) {
		t.Fatalf("removed officer reads: %v", err)
	}
	cert, _ := parseCertPEM(s.cred["aro-a"].CertPEM)
	if _, err := s.svc.Authenticate(ctx, cert); !errors.Is(err, ErrOfficerInactive) {
		t.Fatalf("removed officer authenticates: %v", err)
	}
	if got := s.lastAudit("officer.authenticate"); got.Result != "refused: "+ErrOfficerInactive.Error() {
		t.Fatalf("authentication refusal audit: %q", got.Result)
	}
	// A bootstrap recovery (break-glass) supersedes the old credential at
	// once; a plain restart (Bootstrap) would have left it alone.
	old := s.admin
	oldCert, _ := parseCertPEM(ratest.ReadFile(t, filepath.Join(s.dir, "officers", "admin", "cert.pem")))
	if err := os.Remove(filepath.Join(s.dir, "officers", "admin", "key.pem")); err != nil {
		t.Fatal(err)
	}
	if err := s.svc.Bootstrap(ctx, s.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.Authenticate(ctx, oldCert); err != nil {
		t.Fatalf("a restart superseded the admin's credential: %v", err)
	}
	if err := s.svc.RecoverBootstrap(ctx, s.dir); err != nil {
		t.Fatal(err)
	}
	_, err = s.svc.CreateParty(ctx, old, eui64.MustParse("90-B3-D5-1F-30-00-00-09"), "Late")
	s.wantRefusal(err, ErrOfficerInactive, ActCreateParty)
	if _, err := s.svc.Authenticate(ctx, oldCert); !errors.Is(err, ErrOfficerInactive) {
		t.Fatalf("superseded credential authenticates: %v", err)
	}
	fresh := s.actorFromDir(filepath.Join(s.dir, "officers", "admin"))
	if _, err := s.svc.CreateParty(ctx, fresh, eui64.MustParse("90-B3-D5-1F-30-00-00-09"), "Late"); err != nil {
		t.Fatalf("reissued credential: %v", err)
	}
	// A credential of the access CA whose CN names an officer but whose
	// serial is not that officer's is refused (no CN spoofing).
	forged, err := s.svc.access.IssueOfficer("admin", KindRAOperator, raOrganisation)
	if err != nil {
		t.Fatal(err)
	}
	fc, _ := parseCertPEM(forged.CertPEM)
	if _, err := s.svc.Authenticate(ctx, fc); !errors.Is(err, ErrOfficerInactive) {
		t.Fatalf("unregistered credential with an officer's CN: %v", err)
	}
}

func TestRedTeamConsistency(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	ev := s.declare(s.liaison, nil, nil)
	// A second event for the same failed party while one is open.
	_, err := s.svc.DeclareSoLR(ctx, s.admin, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "again"})
	s.wantRefusal(err, ErrExists, ActDeclareSoLR)
	// The SRP user of the failed party itself, and a non-SC "SRP user".
	_, err = s.svc.DeclareSoLR(ctx, s.admin, DeclareRequest{FailedParty: s.srp, SRPUser: s.userSC, Instruction: "self"})
	s.wantRefusal(err, ErrBadRequest, ActDeclareSoLR)
	_, err = s.svc.DeclareSoLR(ctx, s.admin, DeclareRequest{FailedParty: s.otherSupplier, SRPUser: s.userIS, Instruction: "not SC"})
	s.wantRefusal(err, ErrInvalidRole, ActDeclareSoLR)
	if _, err := s.svc.ApproveSoLR(ctx, s.approver, ev.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.svc.ApproveSoLR(ctx, s.approver, ev.ID)
	s.wantRefusal(err, ErrEventState, ActApproveSoLR)
	if _, err := s.svc.CloseSoLR(ctx, s.liaison, ev.ID, ""); err != nil {
		t.Fatal(err)
	}
	_, err = s.svc.CloseSoLR(ctx, s.liaison, ev.ID, "")
	s.wantRefusal(err, ErrEventState, ActCloseSoLR)
	_, err = s.svc.ApproveSoLR(ctx, s.approver, ev.ID)
	s.wantRefusal(err, ErrEventState, ActApproveSoLR)
	// The failed party stays failed after its event closes, and a new
	// event may name it (say, to hand its devices to another SRP); it is
	// approved like the first, and finds nothing left to revoke.
	second, err := s.svc.DeclareSoLR(ctx, s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "second"})
	if err != nil {
		t.Fatalf("a new event for a failed party whose event closed: %v", err)
	}
	if len(second.DryRun.Certificates) != 0 {
		t.Fatalf("second event would revoke %d certificates, want 0", len(second.DryRun.Certificates))
	}
	if _, err := s.svc.ApproveSoLR(ctx, s.approver, second.Event.ID); err != nil {
		t.Fatalf("approving the second event: %v", err)
	}
	if _, err := s.svc.CloseSoLR(ctx, s.liaison, second.Event.ID, "done"); err != nil {
		t.Fatalf("closing the second event: %v", err)
	}
	// One SRP user may be named by events for two failed suppliers.
	if _, err := s.svc.DeclareSoLR(ctx, s.liaison, DeclareRequest{FailedParty: s.otherSupplier, SRPUser: s.userSC, Instruction: "B"}); err != nil {
		t.Fatalf("second supplier, same SRP: %v", err)
	}
	// Unknown event IDs, including path-like ones.
	for _, id := range []string{"nope", "../" + ev.ID, ev.ID + "/x", ""} {
		_, err = s.svc.ApproveSoLR(ctx, s.approver, id)
		s.wantRefusal(err, ErrNotFound, ActApproveSoLR)
	}
}
