package ra

import (
	"context"
	"fmt"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

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
