package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/smki/smki/store"
)

// testPrefetch: store.Prefetch is a hint. GetUser, GetParty, GetOfficer,
// CertificatesByKey and GetCertificate answer the same after it (a user without a party
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
	unknown, noSerial := eui(), randSerial(t)
	ahead := store.ReadAhead{Users: []string{ub.ID, ua.ID, orphan.ID, unknown, ua.ID, ""},
		Officers: []string{oa.ID, "nobody", oa.ID}, KeyHashes: []string{ca.KeyHash, keyHash("nobody")},
		Certificates: []string{cb.Serial, noSerial, cb.Serial}}
	// reads checks the answers; an error it returns is the engine's (a
	// View may be told to run again: store.Store.View), a wrong answer
	// fails the test.
	notFound := func(what string, err error) error {
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil
		case err == nil:
			t.Fatalf("%s: found, want ErrNotFound", what)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	reads := func(tx store.Tx, us []store.User, ps []store.Party, o store.Officer) error {
		t.Helper()
		for _, u := range us {
			got, err := tx.GetUser(u.ID)
			if err != nil {
				return fmt.Errorf("GetUser"+": %w", err)
			}
			same(t, "GetUser "+u.Name, got, u)
		}
		for _, p := range ps {
			got, err := tx.GetParty(p.ID)
			if err != nil {
				return fmt.Errorf("GetParty"+": %w", err)
			}
			same(t, "GetParty "+p.Name, got, p)
		}
		_, err := tx.GetUser(unknown)
		if err := notFound("GetUser unknown", err); err != nil {
			return err
		}
		_, err = tx.GetParty(orphan.PartyID)
		if err := notFound("GetParty with no row", err); err != nil {
			return err
		}
		got, err := tx.GetOfficer(o.ID)
		if err != nil {
			return fmt.Errorf("GetOfficer"+": %w", err)
		}
		same(t, "GetOfficer", got, o)
		_, err = tx.GetOfficer("nobody")
		if err := notFound("GetOfficer unknown", err); err != nil {
			return err
		}
		byKey, err := tx.CertificatesByKey(ca.KeyHash)
		if err != nil {
			return fmt.Errorf("CertificatesByKey"+": %w", err)
		}
		if len(byKey) != 2 || byKey[0].Serial != min(ca.Serial, cb.Serial) || byKey[1].Serial != max(ca.Serial, cb.Serial) {
			t.Fatalf("CertificatesByKey = %v, want %s and %s in serial order", serials(byKey), ca.Serial, cb.Serial)
		}
		byKey[0].Serial = "changed by the caller" // a copy: the next read is not changed
		again, err := tx.CertificatesByKey(ca.KeyHash)
		if err != nil {
			return fmt.Errorf("CertificatesByKey"+": %w", err)
		}
		if again[0].Serial == "changed by the caller" {
			t.Fatal("CertificatesByKey returned the read-ahead slice itself")
		}
		none, err := tx.CertificatesByKey(keyHash("nobody"))
		if err != nil {
			return fmt.Errorf("CertificatesByKey none"+": %w", err)
		}
		if len(none) != 0 {
			t.Fatalf("CertificatesByKey of an unknown key = %v", serials(none))
		}
		for _, c := range []store.Certificate{cb, ca} { // read ahead, and not
			got, err := tx.GetCertificate(c.Serial)
			if err != nil {
				return fmt.Errorf("GetCertificate"+": %w", err)
			}
			if got.Serial != c.Serial || got.UserID != c.UserID || got.KeyHash != c.KeyHash || got.Status != store.StatusGood {
				t.Fatalf("GetCertificate(%s) = %+v", c.Serial, got)
			}
		}
		_, err = tx.GetCertificate(noSerial)
		if err := notFound("GetCertificate unknown", err); err != nil {
			return err
		}
		return nil
	}
	view(t, s, func(tx store.Tx) error {
		noErr(t, "Prefetch nothing", store.Prefetch(tx, store.ReadAhead{}))
		noErr(t, "Prefetch", store.Prefetch(tx, ahead))
		return reads(tx, []store.User{ua, ub, orphan}, []store.Party{pa, pb}, oa)
	})
	uc := store.User{ID: eui(), PartyID: pa.ID, Role: "GS", Name: "c", Status: store.StatusActive, CreatedAt: base}
	update(t, s, func(tx store.Tx) error {
		noErr(t, "Prefetch", store.Prefetch(tx, ahead))
		noErr(t, "reads", reads(tx, []store.User{ua, ub, orphan}, []store.Party{pa, pb}, oa))
		ua.Status, pb.Status = store.StatusSuspended, store.StatusRemoved
		noErr(t, "PutUser", tx.PutUser(ua))
		noErr(t, "PutParty", tx.PutParty(pb))
		noErr(t, "CreateUser", tx.CreateUser(uc))
		oa.Status = store.StatusSuspended
		noErr(t, "PutOfficer", tx.PutOfficer(oa))
		noErr(t, "reads", reads(tx, []store.User{ua, ub, orphan, uc}, []store.Party{pa, pb}, oa))
		// Read ahead again after the writes: the new rows.
		ahead.Users = append(ahead.Users, uc.ID)
		noErr(t, "Prefetch again", store.Prefetch(tx, ahead))
		return reads(tx, []store.User{ua, ub, orphan, uc}, []store.Party{pa, pb}, oa)
	})
	view(t, s, func(tx store.Tx) error {
		noErr(t, "Prefetch", store.Prefetch(tx, ahead))
		return reads(tx, []store.User{ua, ub, orphan, uc}, []store.Party{pa, pb}, oa)
	})
}
