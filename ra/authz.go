package ra

import (
	"github.com/smki/smki/ra/authz"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/store"
)

// The access policy is ra/authz (Authorize: one table of officer kind,
// action and target); these are the names ra's callers know it by.

// Officer kinds (authz).
const (
	KindSRO              = authz.KindSRO
	KindARO              = authz.KindARO
	KindRAOperator       = authz.KindRAOperator
	KindRAApprover       = authz.KindRAApprover
	KindAuthorityLiaison = authz.KindAuthorityLiaison
	KindVerifier         = authz.KindVerifier

	raOrganisation        = ownpki.RAOrganisation // O of an RA officer's access certificate
	bootstrapActor        = "system:bootstrap"
	bootstrapOperatorID   = "admin"
	bootstrapApproverID   = "approver"
	bootstrapOperatorName = "Bootstrap RA operator"
	bootstrapApproverName = "Bootstrap RA approver"
)

// OfficerKinds lists every officer kind (authz.OfficerKinds).
func OfficerKinds() []string { return authz.OfficerKinds() }

// IsPartyKind reports whether officers of kind k belong to a party.
func IsPartyKind(k string) bool { return authz.IsPartyKind(k) }

// IsRAKind reports whether officers of kind k act for the RA.
func IsRAKind(k string) bool { return authz.IsRAKind(k) }

// Action names a decision of the RA; it is also the audit record's Action.
type Action = authz.Action

// Actions (authz).
const (
	ActCreateParty      = authz.ActCreateParty
	ActSuspendParty     = authz.ActSuspendParty
	ActReinstateParty   = authz.ActReinstateParty
	ActCreateUser       = authz.ActCreateUser
	ActWithdrawUser     = authz.ActWithdrawUser
	ActAppointOfficer   = authz.ActAppointOfficer
	ActRemoveOfficer    = authz.ActRemoveOfficer
	ActSuspendOfficer   = authz.ActSuspendOfficer
	ActReinstateOfficer = authz.ActReinstateOfficer
	ActRenewOfficer     = authz.ActRenewOfficer
	ActReissueOfficer   = authz.ActReissueOfficer
	ActEnrol            = authz.ActEnrol
	ActRevoke           = authz.ActRevoke
	ActRevokeUser       = authz.ActRevokeUser
	ActRevokeParty      = authz.ActRevokeParty
	ActReadParty        = authz.ActReadParty
	ActListAll          = authz.ActListAll
	ActVerifyAudit      = authz.ActVerifyAudit
	ActBackupStore      = authz.ActBackupStore
	ActDeclareSoLR      = authz.ActDeclareSoLR
	ActApproveSoLR      = authz.ActApproveSoLR
	ActCloseSoLR        = authz.ActCloseSoLR
	ActReadSoLR         = authz.ActReadSoLR
	ActRevokeFailed     = authz.ActRevokeFailed
	// The RA's own signer certificates: request and approve (signerrev.go).
	ActRequestSignerRevocation = authz.ActRequestSignerRevocation
	ActApproveSignerRevocation = authz.ActApproveSignerRevocation
	ActSubmitADT               = authz.ActSubmitADT
	ActReadADT                 = authz.ActReadADT
	ActWithdrawADT             = authz.ActWithdrawADT
	ActImportDevice            = authz.ActImportDevice
	ActReadDevices             = authz.ActReadDevices
	ActSetAllowList            = authz.ActSetAllowList
	ActReadPolicy              = authz.ActReadPolicy
	ActReadBundle              = authz.ActReadBundle
	ActReadFeed                = authz.ActReadFeed
)

// Target is what an action is about, as far as the policy needs to know.
type Target = authz.Target

// Authorize is the RA's whole access policy (authz.Authorize).
func Authorize(officer store.Officer, act Action, t Target) error {
	return authz.Authorize(officer, act, t)
}

// hidden is a party officer's one answer for another party's record and
// for none (authz.Hidden, issue 12 finding 7).
func hidden(me store.Officer, what, id string, err error) error {
	return authz.Hidden(me, what, id, err)
}

// unseen hides from a party officer a record of party pid it may not read
// (authz.Unseen).
func unseen(me store.Officer, read Action, pid, what, id string) error {
	return authz.Unseen(me, read, pid, what, id)
}
