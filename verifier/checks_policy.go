package verifier

import (
	"time"

	"slices"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/role"
	"github.com/smki/smki/verifier/duis"
	"github.com/smki/smki/verifier/gbcs"
)

// srv16 is SR 1.6 "Update Payment Mode", the one SRV SC may send by default.
const srv16 = "1.6"

// checkUser is step 7 (E1): the signed originator is the certificate's
// subject, the bundle knows the user as active, and the user's role is one
// the certificate is bound to; (PARTY) the user's party is active, by the
// bundle or the newer feed.
func (v *Verifier) checkUser(st *state, res *chainResult, req *duis.Request) (*bundle.User, Decision, bool) {
	orig := req.ID.Originator
	if orig != res.uid {
		return nil, reject(CodeE1, "RequestID originator %s is not the signer's x500UniqueIdentifier %s; "+
			"put the signing user's own User ID in the RequestID, or sign with the originator's certificate", orig, res.uid), false
	}
	u, ok := st.pol.users[orig]
	if !ok {
		return nil, reject(CodeE1, "unknown bundle.User ID %s; %s", orig, nextUser), false
	}
	if u.Status != bundle.StatusActive {
		return nil, reject(CodeE1, "bundle.User ID %s is %s; its users may send nothing until the RA makes it active again (ask the RA)", orig, u.Status), false
	}
	if ps, ok := st.party[u.PartyID]; ok {
		return nil, reject(CodePARTY, "party %s of User ID %s is %s; its users may send nothing until the RA reinstates it (ask the RA: smki party reinstate)", u.PartyID, orig, ps), false
	}
	if !slices.Contains(res.roles, u.Role) {
		return nil, reject(CodeE1, "bundle.User %s has role %s but the certificate is bound to %v; "+
			"sign with this user's certificate for role %s, or %s", orig, u.Role, res.roles, u.Role, nextUser), false
	}
	// An SC certificate carries exactly the SC role (docs/profiles.md):
	// a key bound to SC and a Supplier role would let a failed Supplier's
	// own key, or the SRP's, act in both capacities.
	if u.Role == role.SoLRContingency && len(res.roles) != 1 {
		return nil, reject(CodeE1, "SC user %s signed with a certificate bound to %v, not SC alone; "+
			"sign with a certificate bound to the SC role only (smki enroll with the SC profile)", orig, res.roles), false
	}
	return u, Decision{}, true
}

// checkAllowed is step 8 (E2): the role's allow-list (the bundle's list
// for the role if it has one, else the DUIS eligibility), then the content
// rule for SC (R5): SR 1.6 may only change the payment mode to Credit, in
// the XML body (Command Variant 1-4) or in the signed GBCS pre-command
// (Command Variant 5-7).
func (v *Verifier) checkAllowed(st *state, u *bundle.User, req *duis.Request, at time.Time) (Decision, bool) {
	srv := req.ServiceReferenceVariant
	allowed := false
	if set, ok := st.pol.allow[u.Role]; ok {
		allowed = set[srv]
	} else {
		allowed = v.elig.Allowed(u.Role, srv)
	}
	if !allowed {
		return reject(CodeE2, "bundle.User Role %s may not send Service Reference Variant %s; %s", u.Role, srv, nextAllowed), false
	}
	// A Critical Command reaches a device only through the pre-command
	// path (Command Variant 4, or 5-7 with a signed pre-command); sent as
	// a non-critical variant it would bypass the Supplier's GBCS signature.
	if vr, ok := v.elig.Variant(srv); ok && vr.Critical && (req.CommandVariant < 4 || req.CommandVariant > 7) {
		return reject(CodeE2, "critical Service Reference Variant %s needs Command Variant 4-7, not %d; "+
			"send it again with Command Variant 4 (or 5-7 with the signed GBCS command)", srv, req.CommandVariant), false
	}
	if u.Role != role.SoLRContingency {
		return Decision{}, true
	}
	if req.ServiceReference != srv16 && srv != srv16 {
		return Decision{}, true
	}
	if req.CommandVariant >= 5 && req.CommandVariant <= 7 {
		if len(req.GBCSPayload) == 0 {
			return reject(CodeE2, "SR 1.6 Command Variant %d without a GBCS payload; %s", req.CommandVariant, nextGBCS), false
		}
		uc, toCredit, err := gbcs.ToCredit(req.GBCSPayload)
		if err != nil {
			return reject(CodeE2, "GBCS payload not allowed for %s: %s; %s", u.Role, detail(err), nextGBCS), false
		}
		if !toCredit {
			return reject(CodeE2, "GBCS use case %s does not change the payment mode to Credit; %s", uc, nextGBCS), false
		}
		// The signed command must be the one this request routes: addressed
		// to the RequestID's target and originated by the Supplier the
		// device is registered to (whose Digital Signing key the device
		// trusts). Otherwise a to-Credit command for one meter could ride
		// in a request routed to another.
		h, err := gbcs.ParseHeader(req.GBCSPayload)
		if err != nil {
			return reject(CodeE2, "GBCS payload header: %s; %s", detail(err), nextGBCS), false
		}
		if h.Recipient != req.ID.Target {
			return reject(CodeE2, "GBCS command is addressed to %s, not the RequestID target %s; %s", h.Recipient, req.ID.Target, nextGBCS), false
		}
		if _, supplier, ok := st.pol.deviceAt(req.ID.Target, at); ok && h.Originator != supplier {
			return reject(CodeE2, "GBCS command originates from %s, not %s, the Supplier device %s is registered to; %s",
				h.Originator, supplier, req.ID.Target, nextGBCS), false
		}
		// A cancellation of a pending change changes no payment mode, and a
		// command whose execution time is not one instant cannot be held
		// to the event's end (checkSoLR).
		if _, err := gbcs.ExecutionTime(req.GBCSPayload); err != nil {
			return reject(CodeE2, "GBCS to-Credit command: %s; %s", detail(err), nextGBCS), false
		}
		return Decision{}, true
	}
	if req.PaymentMode != duis.PaymentCredit {
		return reject(CodeE2, "SR 1.6 from %s may only change the payment mode to Credit; send it again with PaymentMode Credit", u.Role), false
	}
	return Decision{}, true
}
