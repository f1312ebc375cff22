package ra

import (
	"fmt"
	"slices"
	"strings"

	"github.com/smki/smki/store"
)

// Officer kinds. SROs and AROs act for one party; the other three act for
// the RA itself and have no party.
const (
	KindSRO              = "sro"
	KindARO              = "aro"
	KindRAOperator       = "ra-operator"
	KindRAApprover       = "ra-approver"
	KindAuthorityLiaison = "authority-liaison"
	// KindVerifier is a machine credential (a verifier or its sidecar)
	// that may only read the signed bundle and the revocation feed. It
	// belongs to the RA, not to a party, and is appointed by an ra-operator.
	KindVerifier          = "verifier"
	raOrganisation        = "RA" // O of an RA officer's access certificate
	bootstrapActor        = "system:bootstrap"
	bootstrapOperatorID   = "admin"
	bootstrapApproverID   = "approver"
	bootstrapOperatorName = "Bootstrap RA operator"
	bootstrapApproverName = "Bootstrap RA approver"
)

// OfficerKinds lists every officer kind.
func OfficerKinds() []string {
	return []string{KindSRO, KindARO, KindRAOperator, KindRAApprover, KindAuthorityLiaison, KindVerifier}
}

// IsPartyKind reports whether officers of kind k belong to a party.
func IsPartyKind(k string) bool { return k == KindSRO || k == KindARO }

// IsRAKind reports whether officers of kind k act for the RA. A verifier
// is not one: it holds no RA office and reads only what verifiers need.
func IsRAKind(k string) bool {
	return k == KindRAOperator || k == KindRAApprover || k == KindAuthorityLiaison
}

// isRALevel reports whether officers of kind k have no party: the RA's
// people and its machine (verifier) credentials.
func isRALevel(k string) bool { return IsRAKind(k) || k == KindVerifier }

// Action names a decision of the RA; it is also the audit record's Action.
type Action string

// Actions.
const (
	ActCreateParty    Action = "party.create"
	ActCreateUser     Action = "user.create"
	ActAppointOfficer Action = "officer.appoint"
	ActRemoveOfficer  Action = "officer.remove"
	ActRenewOfficer   Action = "officer.renew"   // an officer renews its own credential
	ActReissueOfficer Action = "officer.reissue" // another officer's credential, for a CSR the holder made
	ActEnrol          Action = "cert.enrol"      // also renew and re-key
	ActRevoke         Action = "cert.revoke"
	ActRevokeUser     Action = "cert.revoke-user"
	ActRevokeParty    Action = "cert.revoke-party"
	ActReadParty      Action = "party.read" // parties, users, officers, certificates of a party
	ActListAll        Action = "ra.list"    // everything, across parties
	ActVerifyAudit    Action = "audit.verify"

	ActDeclareSoLR  Action = "solr.declare"
	ActApproveSoLR  Action = "solr.approve"
	ActCloseSoLR    Action = "solr.close"
	ActReadSoLR     Action = "solr.read"
	ActRevokeFailed Action = "solr.revoke" // the failed Supplier's revocation (approval or scheduler)
	ActSubmitADT    Action = "adt.submit"
	ActReadADT      Action = "adt.read"
	ActImportDevice Action = "device.import"
	ActReadDevices  Action = "device.read"
	ActSetAllowList Action = "policy.set-srv"
	ActReadPolicy   Action = "policy.read"
	ActReadBundle   Action = "bundle.read" // the signed policy bundle
	ActReadFeed     Action = "feed.read"   // the signed revocation feed
)

// Target is what an action is about, as far as the policy needs to know.
type Target struct {
	PartyID     string // the party the subject belongs to ("" for RA-level subjects)
	OfficerKind string // for officer.appoint / officer.remove: the kind appointed or removed
	PartyHasSRO bool   // for officer.appoint of an SRO: the party already has an active SRO
	OfficerID   string // for officer.renew: the officer whose credential is renewed
	DeclaredBy  string // for solr.approve: the officer who declared the event
	// DeclarerAppointedBy, for solr.approve: who appointed the declarer
	// (their AppointedBy), or last re-issued their credential. Appointing
	// hands the appointee's key to the appointer, and a re-issuer chooses
	// the key certified, so four-eyes must look at who holds keys, not only
	// IDs.
	DeclarerAppointedBy string
}

// Authorize is the RA's whole access policy: it returns nil if officer may
// take action on t, else an error wrapping ErrOfficerInactive, ErrForbidden
// or ErrSROExists. It is pure; callers load officer and t inside the
// transaction that makes the change, so a removed officer is refused at once.
//
// The rules:
//   - Only active officers act at all.
//   - ra-operator: creates parties and users, appoints RA officers and a
//     party's first SRO (only while the party has no active SRO), removes
//     any officer, revokes any certificate (single, per user, per party),
//     reads everything.
//   - Every officer, verifier credentials included, renews its own
//     credential (officer.renew). Re-issuing another officer's credential
//     (officer.reissue, for an officer who lost their key) is for whoever
//     may appoint that kind in that party, except that an ra-operator
//     re-issues any SRO, not only a party's first: a party whose only SRO
//     lost their key has nobody else to do it.
//   - ra-approver, authority-liaison: read everything and verify the audit
//     chain (their approvals belong to the SoLR workflow, not to this file).
//   - sro: appoints and removes its own party's AROs, appoints further SROs
//     of its own party; enrols and revokes for its own party's users,
//     revokes its whole party in bulk; reads its own party.
//   - aro: enrols and revokes (single, per user) for its own party's users;
//     reads its own party.
//   - Nobody submits CSRs for a party's users except that party's own
//     SROs and AROs: the RA never holds a user's request on its own account.
//   - SoLR events (DESIGN.md 4): an authority-liaison or ra-operator
//     declares and closes; an ra-approver approves, and never the person
//     who declared (four-eyes, ErrFourEyes, even if they hold both kinds),
//     nor an approver appointed by the declarer or by the declarer's own
//     appointer (who received both credentials' keys; a re-issue counts
//     as an appointment here);
//     RA officers read events, and so do the SRP party's own SROs and
//     AROs (Target.PartyID is the SRP user's party).
//   - ADT files: the SC user's party's own SROs and AROs submit and read;
//     RA officers read.
//   - Device registry and allow-lists: ra-operators import devices and set
//     allow-lists; RA officers read both; party officers read the devices
//     of their own party's supplier users.
//   - Bundle: RA officers and verifier credentials (it holds every
//     party's data). Feed: every active officer and verifier credentials.
//     Verifier credentials may do nothing else but renew their own.
func Authorize(officer store.Officer, act Action, t Target) error {
	if officer.Status != store.StatusActive {
		return fmt.Errorf("%w: officer %s is %s", ErrOfficerInactive, officer.ID, officer.Status)
	}
	if officer.Kind == KindVerifier && act != ActReadBundle && act != ActReadFeed && act != ActRenewOfficer {
		return fmt.Errorf("%w: verifier credential %s may only read the bundle and the feed, not %s", ErrForbidden, officer.ID, act)
	}
	ownParty := IsPartyKind(officer.Kind) && officer.PartyID != "" && officer.PartyID == t.PartyID
	allowed := false
	switch act {
	case ActCreateParty, ActCreateUser:
		allowed = officer.Kind == KindRAOperator
	case ActAppointOfficer:
		switch {
		case isRALevel(t.OfficerKind):
			allowed = officer.Kind == KindRAOperator && t.PartyID == ""
		case t.OfficerKind == KindSRO:
			if officer.Kind == KindRAOperator && t.PartyHasSRO {
				return fmt.Errorf("%w: party %s already has an active SRO; further SROs are appointed by the party's SRO", ErrSROExists, t.PartyID)
			}
			allowed = officer.Kind == KindRAOperator || (officer.Kind == KindSRO && ownParty)
		case t.OfficerKind == KindARO:
			allowed = officer.Kind == KindSRO && ownParty
		}
	case ActRenewOfficer:
		allowed = t.OfficerID != "" && t.OfficerID == officer.ID
	case ActReissueOfficer:
		// As appointment, without its first-SRO limit (see above). The
		// re-issuer chooses the key certified, so the caller records them
		// as the credential's custodian for four-eyes (officer_renew.go).
		switch {
		case isRALevel(t.OfficerKind):
			allowed = officer.Kind == KindRAOperator && t.PartyID == ""
		case t.OfficerKind == KindSRO:
			allowed = officer.Kind == KindRAOperator || (officer.Kind == KindSRO && ownParty)
		case t.OfficerKind == KindARO:
			allowed = officer.Kind == KindSRO && ownParty
		}
	case ActRemoveOfficer:
		allowed = officer.Kind == KindRAOperator ||
			(officer.Kind == KindSRO && ownParty && t.OfficerKind == KindARO)
	case ActEnrol, ActRevoke, ActRevokeUser:
		allowed = ((officer.Kind == KindSRO || officer.Kind == KindARO) && ownParty) ||
			(act != ActEnrol && officer.Kind == KindRAOperator)
	case ActRevokeParty:
		allowed = (officer.Kind == KindSRO && ownParty) || officer.Kind == KindRAOperator
	case ActReadParty:
		allowed = IsRAKind(officer.Kind) || ownParty
	case ActListAll, ActVerifyAudit:
		allowed = IsRAKind(officer.Kind)
	case ActDeclareSoLR, ActCloseSoLR:
		allowed = officer.Kind == KindAuthorityLiaison || officer.Kind == KindRAOperator
	case ActApproveSoLR:
		if t.DeclaredBy != "" && t.DeclaredBy == officer.ID {
			return fmt.Errorf("%w: %s declared this event and may not also approve it", ErrFourEyes, officer.ID)
		}
		// AppointOfficer returns the new officer's private key to the
		// appointer, so the appointer can act as the appointee. An approver
		// appointed by the declarer, or by whoever appointed the declarer,
		// may be the same person holding two credentials (h14). Bootstrap
		// (system:) appointments are exempt: each goes to its own directory.
		if officer.Kind == KindRAApprover && t.DeclaredBy != "" && (officer.AppointedBy == t.DeclaredBy || officer.ID == t.DeclarerAppointedBy ||
			(t.DeclarerAppointedBy != "" && !strings.HasPrefix(t.DeclarerAppointedBy, "system:") &&
				officer.AppointedBy == t.DeclarerAppointedBy)) {
			return fmt.Errorf("%w: %s and the declarer %s share a credential custodian (appointer %q / %q); an approver from another appointment line must approve",
				ErrFourEyes, officer.ID, t.DeclaredBy, officer.AppointedBy, t.DeclarerAppointedBy)
		}
		allowed = officer.Kind == KindRAApprover && t.DeclaredBy != ""
	case ActReadSoLR, ActReadADT:
		allowed = IsRAKind(officer.Kind) || ownParty
	case ActSubmitADT:
		allowed = (officer.Kind == KindSRO || officer.Kind == KindARO) && ownParty
	case ActImportDevice, ActSetAllowList:
		allowed = officer.Kind == KindRAOperator
	case ActReadDevices:
		allowed = IsRAKind(officer.Kind) || ownParty
	case ActReadPolicy:
		allowed = IsRAKind(officer.Kind)
	case ActReadBundle:
		// The bundle holds every party's users, every ADT file and the
		// whole device registry: a party officer reading it would bypass
		// every per-party read rule above (h14). Verifiers and RA officers.
		allowed = IsRAKind(officer.Kind) || officer.Kind == KindVerifier
	case ActReadFeed:
		// The feed holds only what the published ORL holds.
		allowed = validKind(officer.Kind)
	}
	if !allowed {
		return fmt.Errorf("%w: %s %s may not %s (party %q)", ErrForbidden, officer.Kind, officer.ID, act, t.PartyID)
	}
	return nil
}

// validKind reports whether k is an officer kind.
func validKind(k string) bool { return slices.Contains(OfficerKinds(), k) }
