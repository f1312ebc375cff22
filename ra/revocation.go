package ra

import (
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// revocationOf converts the store's record (whose field names are the
// store's storage format, not the API's).
func revocationOf(r store.Revocation) Revocation {
	return Revocation{Seq: r.Seq, Serial: r.Serial, Issuer: r.Issuer, UserID: r.UserID, PartyID: r.PartyID,
		Reason: r.Reason, RevokedAt: r.RevokedAt.UTC()}
}

// markRevoked completes res with what revs committed: the summary of
// every revocation (records.SummariseRevoked) and its sequence numbers,
// and each listed certificate's new status with its revocation (only
// those: a bulk answer lists a sample, see RevokeResult).
func markRevoked(res *RevokeResult, revs []store.Revocation) {
	if len(revs) == 0 {
		return
	}
	by := make(map[string]int, len(res.Certificates))
	for i, c := range res.Certificates {
		by[c.Serial] = i
	}
	serials := make([]string, len(revs))
	res.Revocations = make([]Revocation, 0, len(res.Certificates))
	for k, r := range revs {
		serials[k] = r.Serial
		i, ok := by[r.Serial]
		if !ok {
			continue
		}
		rv := revocationOf(r)
		res.Revocations = append(res.Revocations, rv)
		at, reason := rv.RevokedAt, rv.Reason
		c := &res.Certificates[i]
		c.Status, c.RevokedAt, c.Reason = string(store.StatusRevoked), &at, &reason
	}
	res.RevokedSummary = records.SummariseRevoked(serials)
	at := revs[0].RevokedAt.UTC()
	res.FirstSeq, res.LastSeq, res.RevokedAt = revs[0].Seq, revs[len(revs)-1].Seq, &at
}
