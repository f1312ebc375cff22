package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// testBadInput makes every malformed call inside one Update that then
// commits, and checks each failed with ErrInvalid and wrote nothing.
func testBadInput(t *testing.T, s store.Store) {
	user, party := eui(), eui()
	good := cert(randSerial(t), user, party)
	update(t, s, func(tx store.Tx) error { return tx.PutCertificate(good) })

	mutate := func(f func(*store.Certificate)) store.Certificate {
		c := cert(randSerial(t), user, party)
		f(&c)
		return c
	}
	badIntent := func(f func(*store.Intent)) store.Intent {
		in := intent(randSerial(t), user)
		f(&in)
		return in
	}
	cases := []struct {
		name string
		call func(store.Tx) error
	}{
		{"intent upper-case serial", func(tx store.Tx) error { return tx.CreateIntent(intent("ABCDEF", user)) }},
		{"intent empty serial", func(tx store.Tx) error { return tx.CreateIntent(intent("", user)) }},
		{"intent serial too long", func(tx store.Tx) error { return tx.CreateIntent(intent(randSerial(t)+randSerial(t), user)) }},
		{"intent no issuer", func(tx store.Tx) error { return tx.CreateIntent(badIntent(func(i *store.Intent) { i.Issuer = "" })) }},
		{"intent created completed", func(tx store.Tx) error {
			return tx.CreateIntent(badIntent(func(i *store.Intent) { i.State = store.IntentCompleted }))
		}},
		{"intent no time", func(tx store.Tx) error {
			return tx.CreateIntent(badIntent(func(i *store.Intent) { i.CreatedAt = time.Time{} }))
		}},
		{"cert non-hex serial", func(tx store.Tx) error {
			return tx.PutCertificate(mutate(func(c *store.Certificate) { c.Serial = "12g4" }))
		}},
		{"cert no issuer", func(tx store.Tx) error {
			return tx.PutCertificate(mutate(func(c *store.Certificate) { c.Issuer = "" }))
		}},
		{"cert no DER", func(tx store.Tx) error { return tx.PutCertificate(mutate(func(c *store.Certificate) { c.DER = nil })) }},
		{"cert NUL in user", func(tx store.Tx) error {
			return tx.PutCertificate(mutate(func(c *store.Certificate) { c.UserID = "a\x00b" }))
		}},
		{"cert inserted revoked", func(tx store.Tx) error {
			return tx.PutCertificate(mutate(func(c *store.Certificate) { c.Status = store.StatusRevoked }))
		}},
		{"cert with revocation seq", func(tx store.Tx) error {
			return tx.PutCertificate(mutate(func(c *store.Certificate) { c.RevocationSeq = 9 }))
		}},
		{"revoke reason 7", func(tx store.Tx) error { _, err := tx.Revoke(good.Serial, 7, base); return err }},
		{"revoke reason 11", func(tx store.Tx) error { _, err := tx.Revoke(good.Serial, 11, base); return err }},
		{"revoke reason -1", func(tx store.Tx) error { _, err := tx.Revoke(good.Serial, -1, base); return err }},
		{"revoke no time", func(tx store.Tx) error { _, err := tx.Revoke(good.Serial, 1, time.Time{}); return err }},
		{"CRL no name", func(tx store.Tx) error { return tx.PutCRL(store.CRL{DER: []byte{1}}) }},
		{"CRL no DER", func(tx store.Tx) error { return tx.PutCRL(store.CRL{Name: "orl"}) }},
		{"party no ID", func(tx store.Tx) error { return tx.CreateParty(store.Party{Name: "x"}) }},
		{"user no ID", func(tx store.Tx) error { return tx.CreateUser(store.User{PartyID: party}) }},
		{"officer no ID", func(tx store.Tx) error { return tx.CreateOfficer(store.Officer{Name: "x"}) }},
		{"audit no action", func(tx store.Tx) error { _, err := tx.AppendAudit(store.AuditEntry{Time: base}); return err }},
		{"audit no time", func(tx store.Tx) error { _, err := tx.AppendAudit(store.AuditEntry{Action: "x"}); return err }},
		{"revocations negative limit", func(tx store.Tx) error { _, err := tx.RevocationsSince(0, -1); return err }},
		{"audit negative limit", func(tx store.Tx) error { _, err := tx.AuditEntries(1, -1); return err }},
	}
	update(t, s, func(tx store.Tx) error {
		for _, c := range cases {
			if err := c.call(tx); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: got %v, want ErrInvalid", c.name, err)
			}
		}
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		certs, err := tx.ListCertificates(store.CertFilter{})
		noErr(t, "ListCertificates", err)
		if len(certs) != 1 || certs[0].Serial != good.Serial || certs[0].Status != store.StatusGood {
			t.Fatalf("after bad input, certificates = %+v, want only %s, good", serials(certs), good.Serial)
		}
		open, err := tx.OpenIntents()
		noErr(t, "OpenIntents", err)
		seq, err := tx.RevocationSeq()
		noErr(t, "RevocationSeq", err)
		audit, err := tx.AuditEntries(1, 0)
		noErr(t, "AuditEntries", err)
		parties, err := tx.ListParties()
		noErr(t, "ListParties", err)
		users, err := tx.ListUsers("")
		noErr(t, "ListUsers", err)
		officers, err := tx.ListOfficers("")
		noErr(t, "ListOfficers", err)
		_, crlErr := tx.GetCRL("orl")
		if len(open)+len(audit)+len(parties)+len(users)+len(officers) != 0 || seq != 0 || !errors.Is(crlErr, store.ErrNotFound) {
			t.Fatalf("bad input wrote: intents %d, audit %d, parties %d, users %d, officers %d, revocation seq %d, CRL err %v",
				len(open), len(audit), len(parties), len(users), len(officers), seq, crlErr)
		}
		return nil
	})
}
