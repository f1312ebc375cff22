package records

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/store"
)

// metaPartySeq is the store meta key of the party-status sequence: it
// counts every change of a party's status or of a party-wide revocation,
// in the transaction that makes it, so the feed can say "the party
// statuses as of N" (docs/bundle.md) and answer a held request as soon as
// either changes.
const metaPartySeq = "party_status_seq"

// PartySeqWrite reports whether a store meta write of key and value is
// the party-status sequence advancing, and to what (ra/internal/feedhub
// watches the writes of a transaction with it, to wake held feed requests
// once that transaction has committed).
func PartySeqWrite(key string, value []byte) (uint64, bool) {
	if key != metaPartySeq || len(value) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(value), true
}

// PartySeq reads the party-status sequence (0 before any change).
func PartySeq(tx store.Tx) (uint64, error) {
	b, err := tx.GetMeta(metaPartySeq)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: party-status sequence: %w", raerr.ErrInternal, err)
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: party-status sequence of %d bytes", raerr.ErrInternal, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// PutPartyStatus changes p's status and advances the party-status
// sequence, in tx. It returns the new sequence.
func PutPartyStatus(tx store.Tx, p store.Party, status string) (uint64, error) {
	p.Status = status
	if err := tx.PutParty(p); err != nil {
		return 0, raerr.FromStore("party "+p.ID, err)
	}
	return bumpPartySeq(tx)
}

// bumpPartySeq advances the party-status sequence in tx and returns it.
func bumpPartySeq(tx store.Tx) (uint64, error) {
	n, err := PartySeq(tx)
	if err != nil {
		return 0, err
	}
	n++
	if err := tx.PutMeta(metaPartySeq, binary.BigEndian.AppendUint64(nil, n)); err != nil {
		return 0, fmt.Errorf("%w: party-status sequence: %w", raerr.ErrInternal, err)
	}
	return n, nil
}

// ActiveParty fails (ErrInactive) unless the party exists and is active:
// what a party must be for anything to be done in its name (a user
// created, an officer appointed, a certificate issued, an ADT file
// accepted). The refusal says how a suspension ends.
func ActiveParty(tx store.Tx, id string) error {
	p, err := tx.GetParty(id)
	if err != nil {
		return raerr.FromStore("party "+id, err)
	}
	switch p.Status {
	case store.StatusActive:
		return nil
	case store.StatusSuspended:
		return fmt.Errorf("%w: party %s is suspended: an ra-operator reinstates it (smki party reinstate --id %s) before anything is done in its name", raerr.ErrInactive, id, id)
	}
	return fmt.Errorf("%w: party %s is %s", raerr.ErrInactive, id, p.Status)
}
