package ra

import (
	"context"
	"fmt"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// feedParties fills the party part of a feed page from tx: party_seq,
// every party that is not active, and every party-wide revocation.
func feedParties(tx store.Tx, page *bundle.FeedPage) error {
	n, err := records.PartySeq(tx)
	if err != nil {
		return err
	}
	page.PartySeq = n
	if page.RevokedParties, err = records.PartyRevocations(tx); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	ps, err := tx.ListParties()
	if err != nil {
		return fmt.Errorf("%w: parties: %w", ErrInternal, err)
	}
	for _, p := range ps {
		if p.Status == store.StatusActive {
			continue
		}
		id, err := eui64.Parse(p.ID)
		if err != nil {
			return fmt.Errorf("%w: stored party %q: %v", ErrInternal, p.ID, err)
		}
		page.Parties = append(page.Parties, bundle.Party{ID: id, Name: p.Name, Status: p.Status})
	}
	return nil
}

// SetPartyStatus suspends a party (status "suspended") or reinstates it
// ("active"): an ra-operator only, in one transaction with its audit
// record and the party-status sequence, so that every verifier following
// the feed refuses (PARTY) or again accepts its users' requests within
// its next feed answer. A failed party (SoLR) is neither suspended nor
// reinstated here; suspending a suspended party or reinstating an active
// one is ErrInactive with nothing changed.
func (s *Service) SetPartyStatus(ctx context.Context, a Actor, id eui64.ID, status string) (Party, error) {
	if err := checkEUI("party ID", id); err != nil {
		return Party{}, err
	}
	act := ActSuspendParty
	switch status {
	case store.StatusSuspended:
	case store.StatusActive:
		act = ActReinstateParty
	default:
		return Party{}, fmt.Errorf("%w: party status %q, want suspended or active", ErrBadRequest, status)
	}
	var out store.Party
	var seq uint64
	err := s.change(ctx, a, act, "party:"+id.String(), func(tx store.Tx, me store.Officer) (string, error) {
		if err := Authorize(me, act, Target{}); err != nil {
			return "", err
		}
		p, err := tx.GetParty(id.String())
		if err != nil {
			return "", raerr.FromStore("party "+id.String(), err)
		}
		from := p.Status
		switch {
		case from == PartyFailed:
			return "", fmt.Errorf("%w: party %s failed (SoLR); its status changes only through the SoLR event", ErrInactive, p.ID)
		case from == status:
			return "", fmt.Errorf("%w: party %s is already %s", ErrInactive, p.ID, status)
		}
		if seq, err = records.PutPartyStatus(tx, p, status); err != nil {
			return "", err
		}
		p.Status = status
		out = p
		return fmt.Sprintf("status=%s from=%s party_seq=%d", status, from, seq), nil
	})
	if err != nil {
		return Party{}, err
	}
	s.feed.AdvanceParty(seq)
	return partyFrom(out), nil
}
