package storetest

import (
	"testing"

	"github.com/smki/smki/store"
)

// testPrefetch: store.Prefetch is a hint. GetUser, GetParty, GetOfficer
// and CertificatesByKey answer the same after it (a user without a party
// row, unknown, repeated and empty IDs included), in a View and in an
// Update, and a write to a user, party or officer later in the
// transaction is what the next read sees, in the transaction and after
// it.
func testPrefetch(t *testing.T, s store.Store) {
	pa := store.Party{ID: eui(), Name: "Supplier A", Status: store.StatusActive, CreatedAt: base}
	pb := store.Party{ID: eui(), Name: "Supplier B", Status: store.StatusActive, CreatedAt: base}
	ua := store.User{ID: eui(), PartyID: pa.ID, Role: "IS", Name: "a", Status: store.StatusActive, CreatedAt: base}
	ub := store.User{ID: eui(), PartyID: pb.ID, Role: "IS", Name: "b", Status: store.StatusActive, CreatedAt: base}
	orphan := store.User{ID: eui(), PartyID: eui(), Role: "SC", Name: "no party row", Status: store.StatusActive, CreatedAt: base}
	oa := store.Officer{ID: "aro-" + eui(), Name: "Ann", PartyID: pa.ID, Kind: "aro", CertSerial: randSerial(t), Status: store.StatusActive,
		CreatedAt: base, AppointedBy: "ra-1"}
	ca, cb := cert(randSerial(t), ua.ID, pa.ID), cert(randSerial(t), ua.ID, pa.ID)
	cb.KeyHash = ca.KeyHash // two certificates of one key, one user
	update(t, s, func(tx store.Tx) error {
		noErr(t, "CreateParty", tx.CreateParty(pa))
		noErr(t, "CreateParty", tx.CreateParty(pb))
		for _, u := range []store.User{ua, ub, orphan} {
			noErr(t, "CreateUser", tx.CreateUser(u))
		}
		noErr(t, "CreateOfficer", tx.CreateOfficer(oa))
		for _, c := range []store.Certificate{ca, cb} {
			noErr(t, "CreateIntent", tx.CreateIntent(intent(c.Serial, c.UserID)))
			noErr(t, "PutCertificate", tx.PutCertificate(c))
		}
		return nil
	})
	unknown := eui()
	ahead := store.ReadAhead{Users: []string{ub.ID, ua.ID, orphan.ID, unknown, ua.ID, ""},
		Officers: []string{oa.ID, "nobody", oa.ID}, KeyHashes: []string{ca.KeyHash, keyHash("nobody")}}
	reads := func(tx store.Tx, us []store.User, ps []store.Party, o store.Officer) {
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
		got, err := tx.GetOfficer(o.ID)
		noErr(t, "GetOfficer", err)
		same(t, "GetOfficer", got, o)
		_, err = tx.GetOfficer("nobody")
		wantErr(t, "GetOfficer unknown", err, store.ErrNotFound)
		byKey, err := tx.CertificatesByKey(ca.KeyHash)
		noErr(t, "CertificatesByKey", err)
		if len(byKey) != 2 || byKey[0].Serial != min(ca.Serial, cb.Serial) || byKey[1].Serial != max(ca.Serial, cb.Serial) {
			t.Fatalf("CertificatesByKey = %v, want %s and %s in serial order", serials(byKey), ca.Serial, cb.Serial)
		}
		byKey[0].Serial = "changed by the caller" // a copy: the next read is not changed
		again, err := tx.CertificatesByKey(ca.KeyHash)
		noErr(t, "CertificatesByKey", err)
		if again[0].Serial == "changed by the caller" {
			t.Fatal("CertificatesByKey returned the read-ahead slice itself")
		}
		none, err := tx.CertificatesByKey(keyHash("nobody"))
		noErr(t, "CertificatesByKey none", err)
		if len(none) != 0 {
			t.Fatalf("CertificatesByKey of an unknown key = %v", serials(none))
		}
	}
	view(t, s, func(tx store.Tx) error {
		noErr(t, "Prefetch nothing", store.Prefetch(tx, store.ReadAhead{}))
		noErr(t, "Prefetch", store.Prefetch(tx, ahead))
		reads(tx, []store.User{ua, ub, orphan}, []store.Party{pa, pb}, oa)
		return nil
	})
	uc := store.User{ID: eui(), PartyID: pa.ID, Role: "GS", Name: "c", Status: store.StatusActive, CreatedAt: base}
	update(t, s, func(tx store.Tx) error {
		noErr(t, "Prefetch", store.Prefetch(tx, ahead))
		reads(tx, []store.User{ua, ub, orphan}, []store.Party{pa, pb}, oa)
		ua.Status, pb.Status = store.StatusSuspended, store.StatusRemoved
		noErr(t, "PutUser", tx.PutUser(ua))
		noErr(t, "PutParty", tx.PutParty(pb))
		noErr(t, "CreateUser", tx.CreateUser(uc))
		oa.Status = store.StatusSuspended
		noErr(t, "PutOfficer", tx.PutOfficer(oa))
		reads(tx, []store.User{ua, ub, orphan, uc}, []store.Party{pa, pb}, oa)
		// Read ahead again after the writes: the new rows.
		ahead.Users = append(ahead.Users, uc.ID)
		noErr(t, "Prefetch again", store.Prefetch(tx, ahead))
		reads(tx, []store.User{ua, ub, orphan, uc}, []store.Party{pa, pb}, oa)
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		noErr(t, "Prefetch", store.Prefetch(tx, ahead))
		reads(tx, []store.User{ua, ub, orphan, uc}, []store.Party{pa, pb}, oa)
		return nil
	})
}
