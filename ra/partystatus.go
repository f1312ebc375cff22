package ra

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/store"
)

// metaPartySeq is the store meta key of the party-status sequence: it
// counts every change of a party's status, in the transaction that makes
// it, so the feed can say "the party statuses as of N" (docs/bundle.md).
const metaPartySeq = "party_status_seq"

// partySeq reads the party-status sequence (0 before any change).
func partySeq(tx store.Tx) (uint64, error) {
	b, err := tx.GetMeta(metaPartySeq)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: party-status sequence: %w", ErrInternal, err)
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: party-status sequence of %d bytes", ErrInternal, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// putPartyStatus changes p's status and advances the party-status
// sequence, in tx. It returns the new sequence.
func putPartyStatus(tx store.Tx, p store.Party, status string) (uint64, error) {
	p.Status = status
	if err := tx.PutParty(p); err != nil {
		return 0, storeErr("party "+p.ID, err)
	}
	n, err := partySeq(tx)
	if err != nil {
		return 0, err
	}
	n++
	if err := tx.PutMeta(metaPartySeq, binary.BigEndian.AppendUint64(nil, n)); err != nil {
		return 0, fmt.Errorf("%w: party-status sequence: %w", ErrInternal, err)
	}
	return n, nil
}

// feedParties fills the party part of a feed page from tx: party_seq,
// every party that is not active, and every party-wide revocation.
func feedParties(tx store.Tx, page *bundle.FeedPage) error {
	n, err := partySeq(tx)
	if err != nil {
		return err
	}
	page.PartySeq = n
	if page.RevokedParties, err = partyRevocations(tx); err != nil {
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
			return "", storeErr("party "+id.String(), err)
		}
		from := p.Status
		switch {
		case from == PartyFailed:
			return "", fmt.Errorf("%w: party %s failed (SoLR); its status changes only through the SoLR event", ErrInactive, p.ID)
		case from == status:
			return "", fmt.Errorf("%w: party %s is already %s", ErrInactive, p.ID, status)
		}
		if seq, err = putPartyStatus(tx, p, status); err != nil {
			return "", err
		}
		p.Status = status
		out = p
		return fmt.Sprintf("status=%s from=%s party_seq=%d", status, from, seq), nil
	})
	if err != nil {
		return Party{}, err
	}
	s.feed.advanceParty(seq)
	return partyFrom(out), nil
}
