package store

import "slices"

// UserPrefetcher is the optional capability of a Tx that reads many
// users, each with its party, in one statement, and answers the
// transaction's later GetUser and GetParty calls for them from what it
// read (PostgreSQL: one round trip instead of two per user, with the same
// row locks GetUser and GetParty take in that transaction). Callers use
// the function PrefetchUsers, which does nothing on an engine without
// it.
type UserPrefetcher interface {
	PrefetchUsers(ids []string) error
}

// PrefetchUsers tells tx that the caller is about to read the users ids
// and their parties (GetUser, then GetParty of the user's PartyID), so an
// engine that can (UserPrefetcher) reads them all at once first. It is a
// hint: what GetUser and GetParty answer is the same with or without it,
// an ID that names no user is simply not read ahead, and a write to a user
// or party later in tx is seen by the reads after it. An error is a
// failure of the transaction (the engine could not run the read).
func PrefetchUsers(tx Tx, ids []string) error {
	p, ok := tx.(UserPrefetcher)
	if !ok || len(ids) == 0 {
		return nil
	}
	if len(ids) > 1 {
		ids = slices.Clone(ids)
		slices.Sort(ids)
		ids = slices.Compact(ids)
	}
	return p.PrefetchUsers(ids)
}
