package records

import (
	"fmt"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/store"
)

// kindPartyRevocation holds the party-wide revocations
// (bundle.PartyRevocation); ID: the party's EUI-64.
const kindPartyRevocation = "party-revocation"

// PutPartyRevocation records, in tx, that every certificate of party with
// a notBefore before issuedBefore is revoked from at with reason. The
// per-certificate revocations are made in the same transaction by the
// caller; this record lets a verifier apply them all from one feed page.
// A second record for the same party widens the first (the later
// issued_before, the earlier revoked_at), as a verifier merges them. A
// record that changes advances the party-status sequence (PartySeq) in
// tx, so held feed requests are answered with it at once; one that
// changes nothing writes nothing.
func PutPartyRevocation(tx store.Tx, party eui64.ID, issuedBefore, at time.Time, reason int) error {
	r := bundle.PartyRevocation{Party: party, IssuedBefore: issuedBefore.UTC(), RevokedAt: at.UTC(), Reason: reason}
	var old bundle.PartyRevocation
	switch err := Get(tx, kindPartyRevocation, party.String(), &old); {
	case err == nil:
		r = bundle.MergePartyRevocations(nil, []bundle.PartyRevocation{old, r})[party]
		if r.IssuedBefore.Equal(old.IssuedBefore) && r.RevokedAt.Equal(old.RevokedAt) && r.Reason == old.Reason {
			return nil
		}
	case !IsNotFound(err):
		return err
	}
	if err := Put(tx, kindPartyRevocation, party.String(), r); err != nil {
		return err
	}
	_, err := bumpPartySeq(tx)
	return err
}

// PartyRevocations lists every party-wide revocation, for the bundle and
// for every feed page (a complete list: they are few, one per failed
// party).
func PartyRevocations(tx store.Tx) ([]bundle.PartyRevocation, error) {
	return List[bundle.PartyRevocation](tx, kindPartyRevocation)
}

// PartyIssuedBefore is the issued_before of a party-wide revocation of
// certs at now: after now and after every certificate's notBefore (a
// certificate dated ahead is covered too), to the second, since
// certificate times have no finer resolution.
func PartyIssuedBefore(certs []store.Certificate, now time.Time) time.Time {
	t := now
	for _, c := range certs {
		if c.NotBefore.After(t) {
			t = c.NotBefore
		}
	}
	return t.Truncate(time.Second).Add(time.Second)
}

// PartyNews is the party part of a feed page as of Seq (docs/bundle.md,
// "Party status" and "Party-wide revocation"): every party that is not
// active, and every party-wide revocation.
type PartyNews struct {
	Seq     uint64
	Parties []bundle.Party
	Revoked []bundle.PartyRevocation
}

// ReadPartyNews reads the party part of a feed page from tx.
func ReadPartyNews(tx store.Tx) (PartyNews, error) {
	var n PartyNews
	var err error
	if n.Seq, err = PartySeq(tx); err != nil {
		return n, err
	}
	if n.Revoked, err = PartyRevocations(tx); err != nil {
		return n, err
	}
	if n.Seq == 0 {
		return n, nil
	}
	ps, err := tx.ListParties()
	if err != nil {
		return n, fmt.Errorf("%w: parties: %w", raerr.ErrInternal, err)
	}
	for _, p := range ps {
		if p.Status == store.StatusActive {
			continue
		}
		id, err := eui64.Parse(p.ID)
		if err != nil {
			return n, fmt.Errorf("%w: stored party %q: %v", raerr.ErrInternal, p.ID, err)
		}
		n.Parties = append(n.Parties, bundle.Party{ID: id, Name: p.Name, Status: p.Status})
	}
	return n, nil
}
