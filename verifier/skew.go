package verifier

import "time"

// clockSkew is how far the verifier's clock and the RA's may disagree.
// It is the one owner of that tolerance in the verifier: data dated up to
// clockSkew after now (a bundle's or a feed page's issued_at) is taken as
// current, and beyond it as a clock problem on one side or the other, so
// it is refused or answers STALE (fromTheFuture); and the ADT windows keep
// every time that a clock stepping back by up to clockSkew could still
// count (adtWindow.count).
const clockSkew = 5 * time.Minute

// fromTheFuture reports whether t lies more than clockSkew after now.
func fromTheFuture(t, now time.Time) bool { return t.After(now.Add(clockSkew)) }
