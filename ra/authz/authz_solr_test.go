package authz

import (
	"errors"
	"testing"

	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/store"
)

// TestAuthorizeSoLR covers the SoLR, ADT, device, policy, bundle and feed
// rules and the verifier credential, allowed and refused.
func TestAuthorizeSoLR(t *testing.T) {
	t.Parallel()
	const pA, pSRP = "90-B3-D5-1F-30-00-00-01", "90-B3-D5-1F-30-00-00-02"
	op := store.Officer{ID: "op", Kind: KindRAOperator, Status: store.StatusActive}
	appr := store.Officer{ID: "appr", Kind: KindRAApprover, Status: store.StatusActive}
	liaison := store.Officer{ID: "li", Kind: KindAuthorityLiaison, Status: store.StatusActive}
	sroA := store.Officer{ID: "sro", Kind: KindSRO, PartyID: pA, Status: store.StatusActive}
	aroSRP := store.Officer{ID: "aro-srp", Kind: KindARO, PartyID: pSRP, Status: store.StatusActive}
	ver := store.Officer{ID: "v", Kind: KindVerifier, Status: store.StatusActive}
	removed := func(o store.Officer) store.Officer { o.Status = store.StatusRemoved; return o }
	apprBy := func(by string) store.Officer { o := appr; o.AppointedBy = by; return o }

	tests := []struct {
		name string
		who  store.Officer
		act  Action
		t    Target
		want error
	}{
		{"liaison declares", liaison, ActDeclareSoLR, Target{}, nil},
		{"operator declares", op, ActDeclareSoLR, Target{}, nil},
		{"approver may not declare", appr, ActDeclareSoLR, Target{}, raerr.ErrForbidden},
		{"sro may not declare", sroA, ActDeclareSoLR, Target{}, raerr.ErrForbidden},
		{"removed liaison may not declare", removed(liaison), ActDeclareSoLR, Target{}, raerr.ErrOfficerInactive},
		{"approver approves another's event", appr, ActApproveSoLR, Target{DeclaredBy: "li", ApproverMadeKey: true}, nil},
		{"approver with an RA-made key may not approve", appr, ActApproveSoLR, Target{DeclaredBy: "li"}, raerr.ErrFourEyes},
		{"approver may not approve own event", appr, ActApproveSoLR, Target{DeclaredBy: "appr"}, raerr.ErrFourEyes},
		{"declarer of another kind: four-eyes first", op, ActApproveSoLR, Target{DeclaredBy: "op"}, raerr.ErrFourEyes},
		{"operator may not approve", op, ActApproveSoLR, Target{DeclaredBy: "li"}, raerr.ErrForbidden},
		{"liaison may not approve", liaison, ActApproveSoLR, Target{DeclaredBy: "op"}, raerr.ErrForbidden},
		{"no declarer: nothing to approve", appr, ActApproveSoLR, Target{}, raerr.ErrForbidden},
		{"liaison closes", liaison, ActCloseSoLR, Target{}, nil},
		{"approver may not close", appr, ActCloseSoLR, Target{}, raerr.ErrForbidden},
		{"approver reads events", appr, ActReadSoLR, Target{PartyID: pSRP}, nil},
		{"SRP aro reads its events", aroSRP, ActReadSoLR, Target{PartyID: pSRP}, nil},
		{"supplier sro may not read SRP events", sroA, ActReadSoLR, Target{PartyID: pSRP}, raerr.ErrForbidden},
		{"SRP aro submits ADT", aroSRP, ActSubmitADT, Target{PartyID: pSRP}, nil},
		{"other party's sro may not submit ADT", sroA, ActSubmitADT, Target{PartyID: pSRP}, raerr.ErrForbidden},
		{"operator may not submit ADT", op, ActSubmitADT, Target{PartyID: pSRP}, raerr.ErrForbidden},
		{"liaison reads ADT", liaison, ActReadADT, Target{}, nil},
		{"SRP aro withdraws its ADT", aroSRP, ActWithdrawADT, Target{PartyID: pSRP}, nil},
		{"operator withdraws an ADT", op, ActWithdrawADT, Target{PartyID: pSRP}, nil},
		{"other party's sro may not withdraw ADT", sroA, ActWithdrawADT, Target{PartyID: pSRP}, raerr.ErrForbidden},
		{"liaison may not withdraw ADT", liaison, ActWithdrawADT, Target{PartyID: pSRP}, raerr.ErrForbidden},
		{"approver may not withdraw ADT", appr, ActWithdrawADT, Target{PartyID: pSRP}, raerr.ErrForbidden},
		{"removed SRP aro may not withdraw ADT", removed(aroSRP), ActWithdrawADT, Target{PartyID: pSRP}, raerr.ErrOfficerInactive},
		{"operator imports devices", op, ActImportDevice, Target{}, nil},
		{"liaison may not import devices", liaison, ActImportDevice, Target{}, raerr.ErrForbidden},
		{"sro reads own devices", sroA, ActReadDevices, Target{PartyID: pA}, nil},
		{"sro may not read other devices", sroA, ActReadDevices, Target{PartyID: pSRP}, raerr.ErrForbidden},
		{"operator sets allow-list", op, ActSetAllowList, Target{}, nil},
		{"approver may not set allow-list", appr, ActSetAllowList, Target{}, raerr.ErrForbidden},
		{"approver reads policy", appr, ActReadPolicy, Target{}, nil},
		{"sro may not read policy", sroA, ActReadPolicy, Target{}, raerr.ErrForbidden},
		{"sro may not read the whole bundle (h14)", sroA, ActReadBundle, Target{}, raerr.ErrForbidden},
		{"aro may not read the whole bundle (h14)", aroSRP, ActReadBundle, Target{}, raerr.ErrForbidden},
		{"sro reads feed", sroA, ActReadFeed, Target{}, nil},
		{"approver reads bundle", appr, ActReadBundle, Target{}, nil},
		{"approver appointed by the declarer (h14)", apprBy("op"), ActApproveSoLR, Target{DeclaredBy: "op", DeclarerLine: []string{"op", "admin"}, ApproverMadeKey: true}, raerr.ErrFourEyes},
		{"approver appointed with the declarer (h14)", apprBy("admin"), ActApproveSoLR, Target{DeclaredBy: "li", DeclarerLine: []string{"li", "admin"}, ApproverMadeKey: true}, raerr.ErrFourEyes},
		{"lines meet higher up (finding 1)", apprBy("op3"), ActApproveSoLR, Target{DeclaredBy: "li", DeclarerLine: []string{"li", "op1", "admin"},
			ApproverLine: []string{"appr", "op3", "op2", "admin"}, ApproverMadeKey: true}, raerr.ErrFourEyes},
		{"approver of another appointment line", apprBy("op2"), ActApproveSoLR, Target{DeclaredBy: "li", DeclarerLine: []string{"li", "admin"},
			ApproverLine: []string{"appr", "op2", "other-root"}, ApproverMadeKey: true}, nil},
		{"bootstrap appointments share no custodian", apprBy("system:bootstrap"), ActApproveSoLR, Target{DeclaredBy: "admin", DeclarerLine: []string{"admin"},
			ApproverLine: []string{"appr"}, ApproverMadeKey: true}, nil},
		{"verifier reads bundle", ver, ActReadBundle, Target{}, nil},
		{"verifier reads feed", ver, ActReadFeed, Target{}, nil},
		{"removed verifier may not read bundle", removed(ver), ActReadBundle, Target{}, raerr.ErrOfficerInactive},
		{"verifier may not read parties", ver, ActReadParty, Target{PartyID: pA}, raerr.ErrForbidden},
		{"verifier may not list", ver, ActListAll, Target{}, raerr.ErrForbidden},
		{"verifier may not read events", ver, ActReadSoLR, Target{}, raerr.ErrForbidden},
		{"verifier may not verify audit", ver, ActVerifyAudit, Target{}, raerr.ErrForbidden},
		{"verifier may not revoke", ver, ActRevoke, Target{PartyID: pA}, raerr.ErrForbidden},
		{"operator appoints verifier", op, ActAppointOfficer, Target{OfficerKind: KindVerifier}, nil},
		{"sro may not appoint verifier", sroA, ActAppointOfficer, Target{PartyID: pA, OfficerKind: KindVerifier}, raerr.ErrForbidden},
		{"verifier may not appoint", ver, ActAppointOfficer, Target{OfficerKind: KindVerifier}, raerr.ErrForbidden},
		{"unknown kind may not read bundle", store.Officer{ID: "x", Kind: "robot", Status: store.StatusActive}, ActReadBundle, Target{}, raerr.ErrForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Authorize(tc.who, tc.act, tc.t)
			if tc.want == nil && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
