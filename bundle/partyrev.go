package bundle

import (
	"time"

	"github.com/smki/smki/eui64"
)

// PartyRevocation revokes every certificate of one party at once, in one
// compact record: a certificate whose signer User ID (x500UniqueIdentifier)
// is a user of Party (by the bundle's users) and whose notBefore is before
// IssuedBefore counts as revoked, with Reason, for requests at or after
// RevokedAt. The RA writes one when it revokes a failed Supplier's
// certificates (SoLR), in the same transaction, so one feed page cuts the
// whole party off however many certificates it holds; the per-certificate
// entries follow in the feed and the ORL as before (docs/bundle.md,
// "Party-wide revocation").
type PartyRevocation struct {
	Party        eui64.ID  `json:"party"`
	IssuedBefore time.Time `json:"issued_before"`
	RevokedAt    time.Time `json:"revoked_at"`
	Reason       int       `json:"reason"`
}

// Covers reports whether r revokes a certificate of r.Party with
// notBefore nb, and from when.
func (r *PartyRevocation) Covers(nb time.Time) (time.Time, bool) {
	return r.RevokedAt, nb.Before(r.IssuedBefore)
}

// MergePartyRevocations indexes rs by party into into (created when nil)
// and returns it. Two records for one party merge to the one that covers
// more: the later issued_before and the earlier revoked_at. Revocation is
// never undone, so a record is never dropped (fail closed).
func MergePartyRevocations(into map[eui64.ID]PartyRevocation, rs []PartyRevocation) map[eui64.ID]PartyRevocation {
	if into == nil {
		into = make(map[eui64.ID]PartyRevocation, len(rs))
	}
	for _, r := range rs {
		old, ok := into[r.Party]
		if ok {
			if old.IssuedBefore.After(r.IssuedBefore) {
				r.IssuedBefore = old.IssuedBefore
			}
			if old.RevokedAt.Before(r.RevokedAt) {
				r.RevokedAt, r.Reason = old.RevokedAt, old.Reason
			}
		}
		into[r.Party] = r
	}
	return into
}

// validatePartyRevocations: a party, both times and an RFC 5280 reason in
// each record.
func validatePartyRevocations(rs []PartyRevocation, bad func(string, ...any) error) error {
	for i, r := range rs {
		if r.Party.IsZero() || r.IssuedBefore.IsZero() || r.RevokedAt.IsZero() {
			return bad("revoked_parties[%d]: party, issued_before and revoked_at are required", i)
		}
		if r.Reason < 0 || r.Reason > 10 || r.Reason == 7 {
			return bad("revoked_parties[%d]: reason %d is not an RFC 5280 CRLReason", i, r.Reason)
		}
	}
	return nil
}
