package verifier

import (
	"fmt"
	"time"

	"github.com/smki/smki/eui64"
)

// RouteAlert says who receives a DCC Alert from device (R7). While a SoLR
// event is active at at for the party of the device's registered supplier,
// the alert goes to the event's SRP user (the SC user), whether or not the
// failed supplier's certificates are revoked yet; otherwise to the
// registered supplier user. An unregistered device routes nowhere
// (recipients nil) and the reason says why. alertCode is carried into the
// reason for the audit trail; routing does not depend on it.
//
// Routing rests on the bundle's SoLR events and device registry, so it
// fails closed like Verify: with data Verify answers STALE for (too old,
// from the future, a CRL past nextUpdate; judged at the Clock) the alert
// routes nowhere and the reason says STALE and why.
func (v *Verifier) RouteAlert(device eui64.ID, alertCode uint16, at time.Time) (recipients []eui64.ID, reason string) {
	if !v.built() {
		return nil, fmt.Sprintf("alert 0x%04X: %s: %s", alertCode, CodeSTALE, notBuiltReason)
	}
	st := v.cur.Load()
	if d, stale := v.stale(st); stale {
		return nil, fmt.Sprintf("alert 0x%04X: %s: %s", alertCode, d.Code, d.Reason)
	}
	pol := st.pol
	_, supplier, ok := pol.deviceAt(device, at)
	if !ok {
		return nil, fmt.Sprintf("alert 0x%04X: device %s is not in the device registry", alertCode, device)
	}
	if supplier.IsZero() {
		return nil, fmt.Sprintf("alert 0x%04X: device %s has no registered supplier at %s", alertCode, device, at.UTC().Format(time.RFC3339))
	}
	for _, e := range pol.events {
		if e.ActiveAt(at) && pol.supplierOfFailedParty(e, supplier) {
			return []eui64.ID{e.SRPUser}, fmt.Sprintf("alert 0x%04X: SoLR event %s active for supplier %s: routed to SRP user %s",
				alertCode, e.ID, supplier, e.SRPUser)
		}
	}
	return []eui64.ID{supplier}, fmt.Sprintf("alert 0x%04X: routed to registered supplier user %s", alertCode, supplier)
}
