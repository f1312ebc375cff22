package verifier

import (
	"fmt"
	"time"

	"github.com/smki/smki/internal/crlfresh"
)

// The durable state's health (issue 12 finding 13): when the replay store
// cannot make an accept durable, the request is refused with its own code
// (STATE, not REPLAY: nothing was replayed), the first failure is logged
// at ERROR, and readiness fails until an accept is durable again (for a
// StateFile, whose failures are sticky, until the sidecar restarts on a
// healthy disk).

// stateReason is the STATE reject's reason. The store's error (a file
// system's text) is the log's and StateError's, never the sender's.
const stateReason = "this verifier cannot make an accept durable (its replay state failed), so it refuses every request it would accept; " +
	"send the request again later: the verifier's operator must free space or fix the disk holding the state file, then restart it (its log has the error)"

// stateFailed records a store failure and returns the STATE reject.
func (v *Verifier) stateFailed(format string, err error) Decision {
	msg := fmt.Sprintf(format, err)
	if v.led.stateErr.Swap(&msg) == nil {
		v.log.Error("state not durable: refusing every request that would be accepted (fail closed); "+
			"free space or fix the disk holding the state file, then restart", "code", CodeSTATE, "err", err.Error())
	}
	return reject(CodeSTATE, "%s", stateReason)
}

// stateOK clears a recorded failure once an accept was made durable.
func (v *Verifier) stateOK() {
	if v.led.stateErr.Load() != nil && v.led.stateErr.Swap(nil) != nil {
		v.log.Info("state durable again")
	}
}

// StateError returns why the last accept could not be made durable, or ""
// while the state is durable. The failure is the Ledger's: every Verifier
// sharing it (one built after the failure too) reports it.
func (v *Verifier) StateError() string {
	if !v.built() {
		return ""
	}
	if p := v.led.stateErr.Load(); p != nil {
		return *p
	}
	return ""
}

// notReady lists why the verifier cannot accept now: stale data, state not
// durable, the RA's bundle or feed not followed (readiness.go). Empty when
// ready.
func (v *Verifier) notReady() []string {
	out := v.follow.reasons()
	if d, stale := v.stale(v.cur.Load()); stale {
		out = append(out, "stale: "+d.Reason)
	}
	if e := v.StateError(); e != "" {
		out = append(out, "state not durable: "+e)
	}
	return out
}

// Warnings lists what will make v not ready if nobody acts, while it is
// still ready (or not ready for another reason): each CRL it holds that
// is past half its lifetime (internal/crlfresh's Stale, the point at
// which smki serve reissues it, so a newer one exists), naming it and its
// nextUpdate, from which on every request is refused STALE. /readyz
// answers the same list as "warnings"; nil when there is nothing to say.
func (v *Verifier) Warnings() []string {
	if !v.built() {
		return nil
	}
	var out []string
	now := v.clock()
	for _, c := range v.cur.Load().rev.crls {
		if crlfresh.Grade(c.thisUpdate, c.nextUpdate, now) == crlfresh.Stale {
			out = append(out, fmt.Sprintf("the %s is past half its lifetime and runs out at %s (nextUpdate): from then on every request is refused STALE; "+
				"install the CA's current CRLs in the trust directory (smki trust export, then SIGHUP the sidecar)", c.name, c.nextUpdate.UTC().Format(time.RFC3339)))
		}
	}
	return out
}

// expiredCRL names a CRL r holds that has expired at now (the one whose
// nextUpdate is r.crlNext), for the STALE reason.
func (r *revState) expiredCRL(now time.Time) string {
	for _, c := range r.crls {
		if c.nextUpdate.Equal(r.crlNext) && crlfresh.PastNextUpdate(c.nextUpdate, now) {
			return c.name
		}
	}
	return "CRL"
}
