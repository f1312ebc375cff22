package verifier

import (
	"errors"
	"sync/atomic"

	"github.com/smki/smki/bundle"
)

// Readiness (issue 15): a Verifier that cannot follow the RA is not ready,
// whatever the age of its data. A Follower reports each sync's outcome
// here; /readyz (Handler) lists the reasons and answers 503 while there are
// any, and smki_verifier_ready (Metrics) is 0. A failure that may pass by
// itself (the RA unreachable, a 5xx answer) counts only once more than
// Follower.Tolerate came in a row; a 4xx answer or a signature that does
// not verify counts at once. The first counted failure of a kind is logged
// at ERROR with what to do; recovery at INFO.

// followHealth is the last failure of each Follower kind, nil while the
// last sync of that kind succeeded (or only failures that may pass by
// themselves came since, no more than the Follower tolerates), and how
// many failed in a row.
type followHealth struct {
	bundle, feed   atomic.Pointer[string]
	bundleN, feedN atomic.Int64
}

func (h *followHealth) slot(kind string) *atomic.Pointer[string] {
	if kind == FollowBundle {
		return &h.bundle
	}
	return &h.feed
}

func (h *followHealth) failures(kind string) *atomic.Int64 {
	if kind == FollowBundle {
		return &h.bundleN
	}
	return &h.feedN
}

func (h *followHealth) reasons() []string {
	var out []string
	if p := h.bundle.Load(); p != nil {
		out = append(out, "bundle: "+*p)
	}
	if p := h.feed.Load(); p != nil {
		out = append(out, "revocation feed: "+*p)
	}
	return out
}

// followFailed records a failed sync of kind (FollowBundle or
// FollowRevocations): readiness fails at once, or for a failure that may
// pass by itself (an unreachable RA, a 5xx answer) once more than tolerate
// came in a row, so that one lost connection does not take the verifier
// out of its load balancer.
func (v *Verifier) followFailed(kind string, err error, tolerate int) {
	if n := v.follow.failures(kind).Add(1); transient(err) && n <= int64(tolerate) {
		return
	}
	msg := err.Error()
	if v.follow.slot(kind).Swap(&msg) == nil {
		v.log.Error("not ready: cannot follow the RA's "+kind+"; "+followHint(err), "kind", kind, "err", msg)
	}
}

// followOK records a successful sync of kind.
func (v *Verifier) followOK(kind string) {
	v.follow.failures(kind).Store(0)
	if s := v.follow.slot(kind); s.Load() != nil && s.Swap(nil) != nil {
		v.log.Info("following the RA's "+kind+" again", "kind", kind)
	}
}

// followHint says what to do about a follower error.
func followHint(err error) string {
	switch {
	case errors.Is(err, bundle.ErrEnvelopeSigner), errors.Is(err, bundle.ErrEnvelopeSignature):
		return "what the RA signs does not verify against --trust's root: export the RA's trust directory (smki trust export) and restart with it"
	case errors.Is(err, ErrFeedHTTP):
		return "check --ra, --officer (a verifier officer of this RA) and the network; the RA's answer is in err"
	default:
		return "see err"
	}
}

// NotReady lists why v cannot accept now (stale data, state not durable,
// the RA's bundle or feed not followed); empty when ready. /readyz answers
// the same list.
func (v *Verifier) NotReady() []string {
	if !v.built() {
		return []string{notBuiltReason}
	}
	return v.notReady()
}
