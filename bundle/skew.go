package bundle

import "time"

// MaxClockSkew is how far the clock of whoever reads a bundle or a feed
// page (a verifier, an auditor checking a checkpoint) and the RA's clock
// that dated it may disagree. It is the one owner of that tolerance:
// a bundle or page whose issued_at lies up to MaxClockSkew after the
// reader's now is current, and beyond it is a clock problem on one side
// or the other (FromTheFuture), which the reader refuses rather than let
// it pass for fresh data until that time comes (docs/bundle.md: the
// issued_at field, and the feed's pages; docs/verifier.md: STALE).
const MaxClockSkew = 5 * time.Minute

// FromTheFuture reports whether issuedAt, a bundle's or feed page's
// issued_at, lies more than MaxClockSkew after now.
func FromTheFuture(issuedAt, now time.Time) bool { return issuedAt.After(now.Add(MaxClockSkew)) }
