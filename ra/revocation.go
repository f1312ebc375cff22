package ra

import (
	"github.com/smki/smki/store"
)

// revocationsOf converts the store's records (whose field names are the
// store's storage format, not the API's).
func revocationsOf(revs []store.Revocation) []Revocation {
	out := make([]Revocation, len(revs))
	for i, r := range revs {
		out[i] = Revocation{Seq: r.Seq, Serial: r.Serial, Issuer: r.Issuer, UserID: r.UserID, PartyID: r.PartyID,
			Reason: r.Reason, RevokedAt: r.RevokedAt.UTC()}
	}
	return out
}

// revoked marks res's certificates with what revs committed, so that the
// answer shows each certificate's new status, not the one it was selected in.
func markRevoked(res *RevokeResult, revs []store.Revocation) {
	by := make(map[string]int, len(res.Certificates))
	for i, c := range res.Certificates {
		by[c.Serial] = i
	}
	res.Revocations = revocationsOf(revs)
	for _, r := range res.Revocations {
		i, ok := by[r.Serial]
		if !ok {
			continue
		}
		at, reason := r.RevokedAt, r.Reason
		c := &res.Certificates[i]
		c.Status, c.RevokedAt, c.Reason = string(store.StatusRevoked), &at, &reason
	}
}
