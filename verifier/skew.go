package verifier

import (
	"time"

	"github.com/smki/smki/bundle"
)

// clockSkew is how far the verifier's clock and the RA's may disagree:
// the contract's bundle.MaxClockSkew, which owns it. Data dated up to
// clockSkew after now (a bundle's or a feed page's issued_at) is taken as
// current, and beyond it as a clock problem on one side or the other, so
// it is refused or answers STALE (fromTheFuture); and the ADT windows keep
// every time that a clock stepping back by up to clockSkew could still
// count (adtWindow.count).
const clockSkew = bundle.MaxClockSkew

// fromTheFuture reports whether t lies more than clockSkew after now
// (bundle.FromTheFuture).
func fromTheFuture(t, now time.Time) bool { return bundle.FromTheFuture(t, now) }
