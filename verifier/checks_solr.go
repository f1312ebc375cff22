package verifier

import (
	"fmt"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/verifier/duis"
	"github.com/smki/smki/verifier/gbcs"
)

// cvNonDevice is DUIS Command Variant 8: a Non-Device Service Request,
// processed by the DCC and sent to no device.
const cvNonDevice = 8

// adtScope is what an accepted SC request counts against; the zero value
// (no event) is "no scope", for every other role.
type adtScope struct {
	key    adtKey
	th     bundle.ADTThreshold
	event  *bundle.SoLREvent
	reason string // the accept's reason, prepared with the policy
}

// checkDevice is step 9 (E4): the user may address the target device
// now, by its role's device rule (policy.DeviceRules, docs/policy.md):
// registered -- the user is the device's registrant in the role's
// capacity at at; any -- the device is in the registry; solr -- checkSoLR.
// A device missing from the registry is refused unless the bundle says the
// registry is not authoritative for the role, or the request is a
// Non-Device Service Request (Command Variant 8), which targets none. Only
// SC gets an ADT scope.
func (v *Verifier) checkDevice(st *state, u *bundle.User, req *duis.Request, at time.Time) (adtScope, Decision, bool) {
	var none adtScope
	rule, ok := v.rules.Rule(u.Role)
	if !ok {
		return none, reject(CodeE4, "User Role %s has no device rule; the verifier's operator must give Options.DeviceRules a rule for it (docs/policy.md)", u.Role), false
	}
	if rule.Kind == policy.SoLR {
		return v.checkSoLR(st, u, req, at)
	}
	target := req.ID.Target
	dev, _, ok := st.pol.deviceAt(target, at)
	if !ok {
		// A Non-Device Service Request (Command Variant 8, for the DCC
		// alone) to a target the registry does not hold (the DCC, a device
		// not yet commissioned) addresses no device: the device rule does
		// not apply to it. One addressing a registered device is held to
		// the rule like any other request (below).
		if req.CommandVariant == cvNonDevice {
			return none, Decision{}, true
		}
		if st.pol.registryOpen[u.Role] {
			return none, Decision{}, true
		}
		return none, reject(CodeE4, "device %s is not in the device registry at %s; %s", target, at.UTC().Format(time.RFC3339), nextDevice), false
	}
	if rule.Kind == policy.AnyDevice {
		return none, Decision{}, true
	}
	who, ok := dev.Registrant(rule.Capacity, at, st.pol.supplierCap[dev.SupplierUser])
	if !ok {
		return none, reject(CodeE4, "device %s has no registered %s at %s; %s", target, rule.Capacity, at.UTC().Format(time.RFC3339), nextDevice), false
	}
	if who != u.UserID {
		return none, reject(CodeE4, "device %s is registered to %s as %s, not to %s (%s); %s", target, who, rule.Capacity, u.UserID, u.Role, nextDevice), false
	}
	return none, Decision{}, true
}

// checkSoLR is checkDevice for SC users (R6, default deny): an approved event
// active at at names the user as its SRP, the target device is registered
// to a supplier user of the event's failed party, and an ADT file covers
// that supplier and SRV.
func (v *Verifier) checkSoLR(st *state, u *bundle.User, req *duis.Request, at time.Time) (adtScope, Decision, bool) {
	var none adtScope
	events := st.pol.eventsBySRP[u.UserID]
	var active []*bundle.SoLREvent
	for _, e := range events {
		if e.ActiveAt(at) {
			active = append(active, e)
		}
	}
	if len(active) == 0 {
		return none, reject(CodeE4, "no approved SoLR event is active for %s at %s; %s", u.UserID, at.UTC().Format(time.RFC3339), nextSoLR), false
	}
	_, supplier, ok := st.pol.deviceAt(req.ID.Target, at)
	if !ok {
		return none, reject(CodeE4, "device %s is not in the device registry at %s; %s", req.ID.Target, at.UTC().Format(time.RFC3339), nextDevice), false
	}
	var event *bundle.SoLREvent
	for _, e := range active {
		if st.pol.supplierOfFailedParty(e, supplier) {
			event = e
			break
		}
	}
	if event == nil {
		return none, reject(CodeE4, "device %s belongs to supplier %s, not to a failed supplier of an active SoLR event; %s", req.ID.Target, supplier, nextSoLR), false
	}
	// A future-dated command executes on the device later, without coming
	// back here: it must not execute after the event that authorised it
	// has ended (the failed Supplier's devices then belong to the new one).
	if x := req.ExecutionDateTime; !x.IsZero() && event.End != nil && !x.Before(*event.End) {
		return none, reject(CodeE4, "ExecutionDateTime %s is not before the end of SoLR event %s (%s); "+
			"send it again to execute before the event ends", x.UTC().Format(time.RFC3339), event.ID, event.End.UTC().Format(time.RFC3339)), false
	}
	// The same for a future-dated SMETS2+ command, whose execution time is
	// inside the signed GBCS payload (checkAllowed has parsed it for SR 1.6).
	if req.CommandVariant >= 5 && req.CommandVariant <= 7 && len(req.GBCSPayload) > 0 && event.End != nil {
		if x, err := gbcs.ExecutionTime(req.GBCSPayload); err == nil && x != nil && !x.Before(*event.End) {
			return none, reject(CodeE4, "the GBCS command executes at %s, not before the end of SoLR event %s (%s); "+
				"send a command that executes before the event ends", x.UTC().Format(time.RFC3339), event.ID, event.End.UTC().Format(time.RFC3339)), false
		}
	}
	scope, ok := st.pol.adt[[2]eui64.ID{u.UserID, supplier}]
	if !ok {
		return none, reject(CodeE4, "no ADT file of %s covers supplier %s; %s", u.UserID, supplier, nextADT), false
	}
	srv := req.ServiceReferenceVariant
	th, ok := scope.SRVs[srv]
	if !ok {
		return none, reject(CodeE4, "the ADT file of %s for supplier %s has no thresholds for %s; %s", u.UserID, supplier, srv, nextADT), false
	}
	return adtScope{key: adtKey{user: u.UserID, srv: srv}, th: th, event: event, reason: st.pol.acceptReason[event]}, Decision{}, true
}

// commit is the last step, atomic across requests: AD1 (quarantined, or
// the quarantine threshold reached in the window), then REPLAY, then record
// the accepted counter and ADT count. Nothing is recorded on reject (but a
// new quarantine). With a Journal, the records are staged under the lock
// and the accept waits for them to be durable after releasing it, so that
// concurrent accepts share one fsync; if they cannot be made durable the
// request is rejected (fail closed) although later ones see the staged
// counter, which only ever refuses more.
func (v *Verifier) commit(u *bundle.User, req *duis.Request, scope *adtScope, at time.Time) Decision {
	d, ticket := v.commitLocked(u, req, scope, at)
	if ticket != 0 {
		if err := v.led.journal.Wait(ticket); err != nil {
			return v.stateFailed("cannot persist the counter, failing closed: %v", err)
		}
	}
	if d.Accepted() {
		v.stateOK()
	}
	return d
}

func (v *Verifier) commitLocked(u *bundle.User, req *duis.Request, scope *adtScope, at time.Time) (Decision, Ticket) {
	v.led.mu.Lock()
	defer v.led.mu.Unlock()
	var warnings []string
	var w *adtWindow
	var period time.Duration
	if scope.event != nil {
		period = time.Duration(scope.th.Period)
		w = v.led.adt[scope.key]
		if w == nil {
			w = &adtWindow{}
			v.led.adt[scope.key] = w
		}
		if at.Before(w.quarantinedUntil) {
			return reject(CodeAD1, "%s quarantined for %s until %s; send no more until then, and ask the SRP's SRO whether "+
				"these requests were meant (the ADT thresholds are theirs: smki adt submit)", u.UserID, scope.key.srv, w.quarantinedUntil.UTC().Format(time.RFC3339)), 0
		}
		n := w.count(at, period)
		if n >= scope.th.Quarantine {
			w.quarantinedUntil = at.Add(period)
			if v.led.journal != nil {
				// Not waited for: a reject need not be durable, and if this
				// record is lost the durable counts re-quarantine at the
				// next request anyway. A broken store fails the next accept.
				_, _ = v.led.journal.StageQuarantine(scope.key.user, scope.key.srv, w.quarantinedUntil)
			}
			return reject(CodeAD1, "ADT quarantine threshold %d for %s reached (%d accepted in %s): quarantined until %s; send no more until then, "+
				"and ask the SRP's SRO whether these requests were meant (the ADT thresholds are theirs: smki adt submit)",
				scope.th.Quarantine, scope.key.srv, n, period, w.quarantinedUntil.UTC().Format(time.RFC3339)), 0
		}
		if scope.th.Warning > 0 && n+1 >= scope.th.Warning {
			warnings = append(warnings, fmt.Sprintf("ADT warning threshold %d for %s reached (%d accepted in %s)", scope.th.Warning, scope.key.srv, n+1, period))
		}
	}
	orig, ctr := req.ID.Originator, req.ID.Counter
	if last, ok := v.led.replay.Last(orig); ok && ctr <= last {
		return reject(CodeREPLAY, "counter %d is not greater than %d, the last accepted for %s; "+
			"a request sent again after its answer was lost was accepted the first time; a new request needs a counter above %d", ctr, last, orig, last), 0
	}
	var ticket Ticket
	if v.led.journal != nil {
		var rec *ADTRecord
		if scope.event != nil {
			rec = &ADTRecord{User: scope.key.user, SRV: scope.key.srv, At: at, Period: period}
		}
		t, err := v.led.journal.Stage(orig, ctr, rec)
		if err != nil {
			return v.stateFailed("cannot record the counter, failing closed: %v", err), 0
		}
		ticket = t
	} else if err := v.led.replay.Accept(orig, ctr); err != nil {
		return v.stateFailed("cannot record the counter, failing closed: %v", err), 0
	}
	if w != nil {
		w.record(at)
	}
	reason := "accepted"
	if scope.event != nil {
		reason = scope.reason
	}
	return Decision{Decision: Accept, Reason: reason, Route: req.ID.Target.String(), Warnings: warnings, Request: req, role: u.Role}, ticket
}
