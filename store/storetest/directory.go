package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

func testParties(t *testing.T, s store.Store) {
	a := store.Party{ID: eui(), Name: "Supplier A", Status: store.StatusActive, CreatedAt: base}
	b := store.Party{ID: eui(), Name: "SRP", Status: store.StatusActive, CreatedAt: base.Add(time.Second)}
	update(t, s, func(tx store.Tx) error {
		noErr(t, "CreateParty", tx.CreateParty(a))
		noErr(t, "CreateParty", tx.CreateParty(b))
		return nil
	})
	wantErr(t, "CreateParty twice", try(s, func(tx store.Tx) error { return tx.CreateParty(a) }), store.ErrExists)
	wantErr(t, "PutParty unknown", try(s, func(tx store.Tx) error { return tx.PutParty(store.Party{ID: eui()}) }), store.ErrNotFound)
	a.Status = store.StatusSuspended
	update(t, s, func(tx store.Tx) error { return tx.PutParty(a) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetParty(a.ID)
		noErr(t, "GetParty", err)
		same(t, "GetParty", got, a)
		_, err = tx.GetParty(eui())
		wantErr(t, "GetParty missing", err, store.ErrNotFound)
		all, err := tx.ListParties()
		noErr(t, "ListParties", err)
		same(t, "ListParties", all, sortedBy([]store.Party{a, b}, func(p store.Party) string { return p.ID }))
		return nil
	})
}

func testUsers(t *testing.T, s store.Store) {
	p1, p2 := eui(), eui()
	u1 := store.User{ID: eui(), PartyID: p1, Role: "IS", Name: "xml", Status: store.StatusActive, CreatedAt: base}
	u2 := store.User{ID: eui(), PartyID: p1, Role: "IS", Name: "ds", Status: store.StatusActive, CreatedAt: base}
	u3 := store.User{ID: eui(), PartyID: p2, Role: "SC", Name: "srp", Status: store.StatusActive, CreatedAt: base}
	update(t, s, func(tx store.Tx) error {
		for _, u := range []store.User{u1, u2, u3} {
			noErr(t, "CreateUser", tx.CreateUser(u))
		}
		return nil
	})
	wantErr(t, "CreateUser twice", try(s, func(tx store.Tx) error { return tx.CreateUser(u1) }), store.ErrExists)
	wantErr(t, "PutUser unknown", try(s, func(tx store.Tx) error { return tx.PutUser(store.User{ID: eui()}) }), store.ErrNotFound)
	u3.Status = store.StatusRemoved
	update(t, s, func(tx store.Tx) error { return tx.PutUser(u3) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetUser(u3.ID)
		noErr(t, "GetUser", err)
		same(t, "GetUser", got, u3)
		_, err = tx.GetUser(eui())
		wantErr(t, "GetUser missing", err, store.ErrNotFound)
		byID := func(u store.User) string { return u.ID }
		l, err := tx.ListUsers(p1)
		noErr(t, "ListUsers", err)
		same(t, "ListUsers(p1)", l, sortedBy([]store.User{u1, u2}, byID))
		l, err = tx.ListUsers("")
		noErr(t, "ListUsers", err)
		same(t, "ListUsers()", l, sortedBy([]store.User{u1, u2, u3}, byID))
		l, err = tx.ListUsers(eui())
		noErr(t, "ListUsers", err)
		if len(l) != 0 {
			t.Fatalf("ListUsers(unknown party) = %v", l)
		}
		return nil
	})
}

func testOfficers(t *testing.T, s store.Store) {
	p := eui()
	sro := store.Officer{ID: "sro-1", Name: "Ann", PartyID: p, Kind: "sro", CertSerial: randSerial(t), Status: store.StatusActive, CreatedAt: base, AppointedBy: "ra-1"}
	ra := store.Officer{ID: "ra-1", Name: "Bob", Kind: "ra-operator", Status: store.StatusActive, CreatedAt: base}
	update(t, s, func(tx store.Tx) error {
		noErr(t, "CreateOfficer", tx.CreateOfficer(sro))
		noErr(t, "CreateOfficer", tx.CreateOfficer(ra))
		return nil
	})
	wantErr(t, "CreateOfficer twice", try(s, func(tx store.Tx) error { return tx.CreateOfficer(ra) }), store.ErrExists)
	wantErr(t, "PutOfficer unknown", try(s, func(tx store.Tx) error { return tx.PutOfficer(store.Officer{ID: "x"}) }), store.ErrNotFound)
	sro.Status = store.StatusSuspended
	sro.CertNotAfter = base.AddDate(1, 0, 0).Add(123456789) // a renewal records its expiry, to the nanosecond
	update(t, s, func(tx store.Tx) error { return tx.PutOfficer(sro) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetOfficer("sro-1")
		noErr(t, "GetOfficer", err)
		same(t, "GetOfficer", got, sro)
		_, err = tx.GetOfficer("nobody")
		wantErr(t, "GetOfficer missing", err, store.ErrNotFound)
		l, err := tx.ListOfficers(p)
		noErr(t, "ListOfficers", err)
		same(t, "ListOfficers(p)", l, []store.Officer{sro})
		l, err = tx.ListOfficers("")
		noErr(t, "ListOfficers", err)
		same(t, "ListOfficers()", l, []store.Officer{ra, sro})
		return nil
	})
}

func sortedBy[T any](xs []T, key func(T) string) []T {
	out := slices.Clone(xs)
	slices.SortFunc(out, func(a, b T) int {
		switch ka, kb := key(a), key(b); {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	return out
}
