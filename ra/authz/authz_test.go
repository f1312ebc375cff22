package authz

import (
	"errors"
	"strings"
	"testing"

	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/store"
)

func TestAuthorize(t *testing.T) {
	t.Parallel()
	const pA, pB = "90-B3-D5-1F-30-00-00-01", "90-B3-D5-1F-30-00-00-02"
	op := store.Officer{ID: "op", Kind: KindRAOperator, Status: store.StatusActive}
	appr := store.Officer{ID: "appr", Kind: KindRAApprover, Status: store.StatusActive}
	liaison := store.Officer{ID: "li", Kind: KindAuthorityLiaison, Status: store.StatusActive}
	sroA := store.Officer{ID: "sro", Kind: KindSRO, PartyID: pA, Status: store.StatusActive}
	aroA := store.Officer{ID: "aro", Kind: KindARO, PartyID: pA, Status: store.StatusActive}
	verifier := store.Officer{ID: "ver", Kind: KindVerifier, Status: store.StatusActive}
	removed := func(o store.Officer) store.Officer { o.Status = store.StatusRemoved; return o }
	suspended := func(o store.Officer) store.Officer { o.Status = store.StatusSuspended; return o }

	tests := []struct {
		name string
		who  store.Officer
		act  Action
		t    Target
		want error // nil: allowed
	}{
		{"operator creates party", op, ActCreateParty, Target{}, nil},
		{"approver may not create party", appr, ActCreateParty, Target{}, raerr.ErrForbidden},
		{"sro may not create party", sroA, ActCreateParty, Target{}, raerr.ErrForbidden},
		{"operator creates user", op, ActCreateUser, Target{PartyID: pA}, nil},
		{"sro may not create user", sroA, ActCreateUser, Target{PartyID: pA}, raerr.ErrForbidden},
		{"aro may not create user", aroA, ActCreateUser, Target{PartyID: pA}, raerr.ErrForbidden},
		{"operator withdraws user", op, ActWithdrawUser, Target{PartyID: pA}, nil},
		{"operator suspends an RA officer", op, ActSuspendOfficer, Target{OfficerKind: KindRAApprover}, nil},
		{"operator reinstates an SRO", op, ActReinstateOfficer, Target{PartyID: pA, OfficerKind: KindSRO}, nil},
		{"sro suspends own ARO", sroA, ActSuspendOfficer, Target{PartyID: pA, OfficerKind: KindARO}, nil},
		{"sro reinstates own ARO", sroA, ActReinstateOfficer, Target{PartyID: pA, OfficerKind: KindARO}, nil},
		{"sro may not suspend another SRO", sroA, ActSuspendOfficer, Target{PartyID: pA, OfficerKind: KindSRO}, raerr.ErrForbidden},
		{"sro may not suspend other party's ARO", sroA, ActSuspendOfficer, Target{PartyID: pB, OfficerKind: KindARO}, raerr.ErrForbidden},
		{"aro may not suspend", aroA, ActSuspendOfficer, Target{PartyID: pA, OfficerKind: KindARO}, raerr.ErrForbidden},
		{"approver may not suspend", appr, ActSuspendOfficer, Target{OfficerKind: KindRAOperator}, raerr.ErrForbidden},
		{"suspended sro may not reinstate", suspended(sroA), ActReinstateOfficer, Target{PartyID: pA, OfficerKind: KindARO}, raerr.ErrOfficerInactive},
		{"sro may not withdraw own party's user", sroA, ActWithdrawUser, Target{PartyID: pA}, raerr.ErrForbidden},
		{"aro may not withdraw user", aroA, ActWithdrawUser, Target{PartyID: pA}, raerr.ErrForbidden},
		{"approver may not withdraw user", appr, ActWithdrawUser, Target{PartyID: pA}, raerr.ErrForbidden},
		{"suspended operator may not withdraw user", suspended(op), ActWithdrawUser, Target{PartyID: pA}, raerr.ErrOfficerInactive},
		{"removed operator refused", removed(op), ActCreateParty, Target{}, raerr.ErrOfficerInactive},
		{"suspended operator refused", suspended(op), ActCreateParty, Target{}, raerr.ErrOfficerInactive},

		{"operator appoints first SRO", op, ActAppointOfficer, Target{PartyID: pA, OfficerKind: KindSRO}, nil},
		{"operator may not appoint second SRO", op, ActAppointOfficer, Target{PartyID: pA, OfficerKind: KindSRO, PartyHasSRO: true}, raerr.ErrSROExists},
		{"sro appoints further SRO of own party", sroA, ActAppointOfficer, Target{PartyID: pA, OfficerKind: KindSRO, PartyHasSRO: true}, nil},
		{"sro may not appoint SRO of other party", sroA, ActAppointOfficer, Target{PartyID: pB, OfficerKind: KindSRO}, raerr.ErrForbidden},
		{"sro appoints own ARO", sroA, ActAppointOfficer, Target{PartyID: pA, OfficerKind: KindARO, PartyHasSRO: true}, nil},
		{"sro may not appoint other party's ARO", sroA, ActAppointOfficer, Target{PartyID: pB, OfficerKind: KindARO}, raerr.ErrForbidden},
		{"operator may not appoint ARO", op, ActAppointOfficer, Target{PartyID: pA, OfficerKind: KindARO}, raerr.ErrForbidden},
		{"aro may not appoint ARO", aroA, ActAppointOfficer, Target{PartyID: pA, OfficerKind: KindARO}, raerr.ErrForbidden},
		{"removed sro may not appoint", removed(sroA), ActAppointOfficer, Target{PartyID: pA, OfficerKind: KindARO}, raerr.ErrOfficerInactive},
		{"operator appoints RA approver", op, ActAppointOfficer, Target{OfficerKind: KindRAApprover}, nil},
		{"sro may not appoint RA officer", sroA, ActAppointOfficer, Target{OfficerKind: KindRAOperator}, raerr.ErrForbidden},
		{"approver may not appoint", appr, ActAppointOfficer, Target{OfficerKind: KindRAOperator}, raerr.ErrForbidden},

		{"officer renews own credential", aroA, ActRenewOfficer, Target{PartyID: pA, OfficerKind: KindARO, OfficerID: "aro"}, nil},
		{"approver renews own credential", appr, ActRenewOfficer, Target{OfficerKind: KindRAApprover, OfficerID: "appr"}, nil},
		{"verifier renews own credential", verifier, ActRenewOfficer, Target{OfficerKind: KindVerifier, OfficerID: "ver"}, nil},
		{"verifier may not re-issue", verifier, ActReissueOfficer, Target{OfficerKind: KindVerifier}, raerr.ErrForbidden},
		{"operator may not renew another's credential", op, ActRenewOfficer, Target{OfficerKind: KindRAApprover, OfficerID: "appr"}, raerr.ErrForbidden},
		{"renewal names no officer", op, ActRenewOfficer, Target{}, raerr.ErrForbidden},
		{"removed officer may not renew", removed(aroA), ActRenewOfficer, Target{PartyID: pA, OfficerKind: KindARO, OfficerID: "aro"}, raerr.ErrOfficerInactive},
		{"operator re-issues RA officer", op, ActReissueOfficer, Target{OfficerKind: KindRAApprover}, nil},
		{"operator re-issues verifier", op, ActReissueOfficer, Target{OfficerKind: KindVerifier}, nil},
		{"operator re-issues an SRO though the party has one", op, ActReissueOfficer, Target{PartyID: pA, OfficerKind: KindSRO, PartyHasSRO: true}, nil},
		{"operator may not re-issue ARO", op, ActReissueOfficer, Target{PartyID: pA, OfficerKind: KindARO}, raerr.ErrForbidden},
		{"RA officer kind with a party never matches", op, ActReissueOfficer, Target{PartyID: pA, OfficerKind: KindRAOperator}, raerr.ErrForbidden},
		{"sro re-issues own ARO", sroA, ActReissueOfficer, Target{PartyID: pA, OfficerKind: KindARO}, nil},
		{"sro re-issues own party's SRO", sroA, ActReissueOfficer, Target{PartyID: pA, OfficerKind: KindSRO}, nil},
		{"sro may not re-issue other party's ARO", sroA, ActReissueOfficer, Target{PartyID: pB, OfficerKind: KindARO}, raerr.ErrForbidden},
		{"sro may not re-issue other party's SRO", sroA, ActReissueOfficer, Target{PartyID: pB, OfficerKind: KindSRO}, raerr.ErrForbidden},
		{"sro may not re-issue RA officer", sroA, ActReissueOfficer, Target{OfficerKind: KindRAOperator}, raerr.ErrForbidden},
		{"aro may not re-issue", aroA, ActReissueOfficer, Target{PartyID: pA, OfficerKind: KindARO}, raerr.ErrForbidden},
		{"approver may not re-issue", appr, ActReissueOfficer, Target{OfficerKind: KindRAApprover}, raerr.ErrForbidden},
		{"liaison may not re-issue", liaison, ActReissueOfficer, Target{OfficerKind: KindAuthorityLiaison}, raerr.ErrForbidden},
		{"removed operator may not re-issue", removed(op), ActReissueOfficer, Target{OfficerKind: KindRAApprover}, raerr.ErrOfficerInactive},

		{"sro removes own ARO", sroA, ActRemoveOfficer, Target{PartyID: pA, OfficerKind: KindARO}, nil},
		{"sro may not remove other party's ARO", sroA, ActRemoveOfficer, Target{PartyID: pB, OfficerKind: KindARO}, raerr.ErrForbidden},
		{"sro may not remove an SRO", sroA, ActRemoveOfficer, Target{PartyID: pA, OfficerKind: KindSRO}, raerr.ErrForbidden},
		{"aro may not remove ARO", aroA, ActRemoveOfficer, Target{PartyID: pA, OfficerKind: KindARO}, raerr.ErrForbidden},
		{"operator removes any", op, ActRemoveOfficer, Target{PartyID: pB, OfficerKind: KindSRO}, nil},

		{"aro enrols own party", aroA, ActEnrol, Target{PartyID: pA}, nil},
		{"sro enrols own party", sroA, ActEnrol, Target{PartyID: pA}, nil},
		{"aro may not enrol other party", aroA, ActEnrol, Target{PartyID: pB}, raerr.ErrForbidden},
		{"operator may not enrol", op, ActEnrol, Target{PartyID: pA}, raerr.ErrForbidden},
		{"removed aro may not enrol", removed(aroA), ActEnrol, Target{PartyID: pA}, raerr.ErrOfficerInactive},
		{"aro revokes own party cert", aroA, ActRevoke, Target{PartyID: pA}, nil},
		{"aro may not revoke other party cert", aroA, ActRevoke, Target{PartyID: pB}, raerr.ErrForbidden},
		{"aro revokes own user", aroA, ActRevokeUser, Target{PartyID: pA}, nil},
		{"operator revokes any cert", op, ActRevoke, Target{PartyID: pB}, nil},
		{"approver may not revoke", appr, ActRevoke, Target{PartyID: pA}, raerr.ErrForbidden},
		{"aro may not revoke whole party", aroA, ActRevokeParty, Target{PartyID: pA}, raerr.ErrForbidden},
		{"sro revokes whole own party", sroA, ActRevokeParty, Target{PartyID: pA}, nil},
		{"sro may not revoke other party", sroA, ActRevokeParty, Target{PartyID: pB}, raerr.ErrForbidden},
		{"operator revokes a party", op, ActRevokeParty, Target{PartyID: pB}, nil},

		{"aro reads own party", aroA, ActReadParty, Target{PartyID: pA}, nil},
		{"aro may not read other party", aroA, ActReadParty, Target{PartyID: pB}, raerr.ErrForbidden},
		{"liaison reads any party", liaison, ActReadParty, Target{PartyID: pB}, nil},
		{"sro may not list all", sroA, ActListAll, Target{}, raerr.ErrForbidden},
		{"approver verifies audit", appr, ActVerifyAudit, Target{}, nil},
		{"sro may not verify audit", sroA, ActVerifyAudit, Target{}, raerr.ErrForbidden},
		{"party officer without party never matches", store.Officer{ID: "x", Kind: KindARO, Status: store.StatusActive}, ActEnrol, Target{}, raerr.ErrForbidden},
		{"unknown action refused", op, Action("nope"), Target{}, raerr.ErrForbidden},
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

// TestRefusalSaysWhoMay: an E_RA_FORBIDDEN refusal names whom to ask,
// read from the table itself: an SRP's ARO refused an appointment is
// pointed to its party's SRO, an SRO refused removing an SRO to the RA's
// operator, a party officer refused a list across parties to the RA's
// officers. Before, the refusal named the internal action and stopped
// ("aro aro may not officer.appoint (party ...)").
func TestRefusalSaysWhoMay(t *testing.T) {
	t.Parallel()
	const pA = "90-B3-D5-1F-30-00-00-5C"
	sroA := store.Officer{ID: "sro", Kind: KindSRO, PartyID: pA, Status: store.StatusActive}
	aroA := store.Officer{ID: "aro", Kind: KindARO, PartyID: pA, Status: store.StatusActive}
	for _, tc := range []struct {
		name string
		who  store.Officer
		act  Action
		t    Target
		want string
	}{
		{"aro appoints an aro", aroA, ActAppointOfficer, Target{PartyID: pA, OfficerKind: KindARO}, "; who may: sro of party " + pA},
		{"sro removes an sro", sroA, ActRemoveOfficer, Target{PartyID: pA, OfficerKind: KindSRO}, "; who may: ra-operator"},
		{"aro lists across parties", aroA, ActListAll, Target{}, "; who may: ra-operator, ra-approver, authority-liaison"},
		{"aro creates a user", aroA, ActCreateUser, Target{PartyID: pA}, "; who may: ra-operator"},
	} {
		err := Authorize(tc.who, tc.act, tc.t)
		if !errors.Is(err, raerr.ErrForbidden) || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want E_RA_FORBIDDEN ending %q", tc.name, err, tc.want)
		}
	}
}
