package storetest

import (
	"testing"

	"github.com/smki/smki/store"
)

// testPrefetchUsers: store.PrefetchUsers is a hint. GetUser and GetParty
// answer the same after it (a user without a party row, an unknown ID
// and a repeated ID included), in a View and in an Update, and a write
// to a user or party later in the transaction is what the next read
// sees, in the transaction and after it.
func testPrefetchUsers(t *testing.T, s store.Store) {
	pa := store.Party{ID: eui(), Name: "Supplier A", Status: store.StatusActive, CreatedAt: base}
	pb := store.Party{ID: eui(), Name: "Supplier B", Status: store.StatusActive, CreatedAt: base}
	ua := store.User{ID: eui(), PartyID: pa.ID, Role: "IS", Name: "a", Status: store.StatusActive, CreatedAt: base}
	ub := store.User{ID: eui(), PartyID: pb.ID, Role: "IS", Name: "b", Status: store.StatusActive, CreatedAt: base}
	orphan := store.User{ID: eui(), PartyID: eui(), Role: "SC", Name: "no party row", Status: store.StatusActive, CreatedAt: base}
	update(t, s, func(tx store.Tx) error {
		noErr(t, "CreateParty", tx.CreateParty(pa))
		noErr(t, "CreateParty", tx.CreateParty(pb))
		for _, u := range []store.User{ua, ub, orphan} {
			noErr(t, "CreateUser", tx.CreateUser(u))
		}
		return nil
	})
	unknown := eui()
	ids := []string{ub.ID, ua.ID, orphan.ID, unknown, ua.ID}
	reads := func(tx store.Tx, us []store.User, ps []store.Party) {
		t.Helper()
		for _, u := range us {
			got, err := tx.GetUser(u.ID)
			noErr(t, "GetUser", err)
			same(t, "GetUser "+u.Name, got, u)
		}
		for _, p := range ps {
			got, err := tx.GetParty(p.ID)
			noErr(t, "GetParty", err)
			same(t, "GetParty "+p.Name, got, p)
		}
		_, err := tx.GetUser(unknown)
		wantErr(t, "GetUser unknown", err, store.ErrNotFound)
		_, err = tx.GetParty(orphan.PartyID)
		wantErr(t, "GetParty with no row", err, store.ErrNotFound)
	}
	view(t, s, func(tx store.Tx) error {
		noErr(t, "PrefetchUsers none", store.PrefetchUsers(tx, nil))
		noErr(t, "PrefetchUsers", store.PrefetchUsers(tx, ids))
		reads(tx, []store.User{ua, ub, orphan}, []store.Party{pa, pb})
		return nil
	})
	uc := store.User{ID: eui(), PartyID: pa.ID, Role: "GS", Name: "c", Status: store.StatusActive, CreatedAt: base}
	update(t, s, func(tx store.Tx) error {
		noErr(t, "PrefetchUsers", store.PrefetchUsers(tx, ids))
		reads(tx, []store.User{ua, ub, orphan}, []store.Party{pa, pb})
		ua.Status, pb.Status = store.StatusSuspended, store.StatusRemoved
		noErr(t, "PutUser", tx.PutUser(ua))
		noErr(t, "PutParty", tx.PutParty(pb))
		noErr(t, "CreateUser", tx.CreateUser(uc))
		reads(tx, []store.User{ua, ub, orphan, uc}, []store.Party{pa, pb})
		// Read ahead again after the writes: the new rows.
		noErr(t, "PrefetchUsers again", store.PrefetchUsers(tx, append(ids, uc.ID)))
		reads(tx, []store.User{ua, ub, orphan, uc}, []store.Party{pa, pb})
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		noErr(t, "PrefetchUsers", store.PrefetchUsers(tx, []string{ua.ID, uc.ID, ub.ID}))
		reads(tx, []store.User{ua, ub, orphan, uc}, []store.Party{pa, pb})
		return nil
	})
}
