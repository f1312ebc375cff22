package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/migrate"
)

// ports returns tx's Exporter and Importer, failing the test if the
// engine lacks them (every engine must support migration).
func ports(t testing.TB, tx store.Tx) (store.Exporter, store.Importer) {
	t.Helper()
	ex, ok := tx.(store.Exporter)
	if !ok {
		t.Fatalf("%T does not implement store.Exporter", tx)
	}
	im, ok := tx.(store.Importer)
	if !ok {
		t.Fatalf("%T does not implement store.Importer", tx)
	}
	return ex, im
}

// testImport: each import rule refuses with its code and writes nothing;
// accepted imports keep their numbers and the ordinary methods continue
// from them.
func testImport(t *testing.T, s store.Store) {
	party, user := eui(), eui()
	serial, other := randSerial(t), randSerial(t)
	update(t, s, func(tx store.Tx) error {
		noErr(t, "PutCertificate", tx.PutCertificate(cert(serial, user, party)))
		return tx.PutCertificate(cert(other, user, party))
	})
	e1 := store.AuditEntry{Seq: 1, Time: base, Actor: "a", Action: "x", Subject: "s", Result: "ok"}
	e1.Hash = store.HashAudit(e1)
	rev := store.Revocation{Seq: 1, Serial: serial, Issuer: "issuing-ca", UserID: user, PartyID: party, Reason: 5, RevokedAt: base}
	ghost := rev
	ghost.Serial = randSerial(t)
	wrongSeq, wrongUser := rev, rev
	wrongSeq.Seq = 2
	wrongUser.UserID = eui()
	badSeq, badPrev, badHash, badTime := e1, e1, e1, e1
	badSeq.Seq = 2
	badSeq.Hash = store.HashAudit(badSeq)
	badPrev.PrevHash = []byte("not the head")
	badPrev.Hash = store.HashAudit(badPrev)
	badHash.Hash = []byte("forged")
	badTime.Time = time.Time{}
	badTime.Hash = store.HashAudit(badTime)
	failed := intent(randSerial(t), user)
	failed.State = store.IntentFailed
	weird := intent(randSerial(t), user)
	weird.State = "pending"
	dup := intent(serial, user)
	dup.State = store.IntentCompleted
	for _, tc := range []struct {
		name string
		fn   func(store.Importer) error
		want error
	}{
		{"revocation of unknown serial", func(im store.Importer) error { return im.ImportRevocation(ghost) }, store.ErrNotFound},
		{"revocation skipping a seq", func(im store.Importer) error { return im.ImportRevocation(wrongSeq) }, store.ErrInvalid},
		{"revocation naming another user", func(im store.Importer) error { return im.ImportRevocation(wrongUser) }, store.ErrInvalid},
		{"audit skipping a seq", func(im store.Importer) error { return im.ImportAudit(badSeq) }, store.ErrInvalid},
		{"audit not linking to the head", func(im store.Importer) error { return im.ImportAudit(badPrev) }, store.ErrInvalid},
		{"audit with a forged hash", func(im store.Importer) error { return im.ImportAudit(badHash) }, store.ErrInvalid},
		{"audit without a time", func(im store.Importer) error { return im.ImportAudit(badTime) }, store.ErrInvalid},
		{"intent with an unknown state", func(im store.Importer) error { return im.ImportIntent(weird) }, store.ErrInvalid},
		{"intent on a certificate's serial", func(im store.Importer) error { return im.ImportIntent(dup) }, store.ErrDuplicateSerial},
	} {
		err := try(s, func(tx store.Tx) error { _, im := ports(t, tx); return tc.fn(im) })
		wantErr(t, tc.name, err, tc.want)
	}
	view(t, s, func(tx store.Tx) error {
		n, err := tx.RevocationSeq()
		noErr(t, "RevocationSeq", err)
		es, err := tx.AuditEntries(1, 0)
		noErr(t, "AuditEntries", err)
		c, err := tx.GetCertificate(serial)
		noErr(t, "GetCertificate", err)
		if n != 0 || len(es) != 0 || c.Status != store.StatusGood {
			t.Fatalf("refused imports wrote: revocation seq %d, %d audit entries, status %s", n, len(es), c.Status)
		}
		return nil
	})

	update(t, s, func(tx store.Tx) error {
		ex, im := ports(t, tx)
		noErr(t, "ImportRevocation", im.ImportRevocation(rev))
		noErr(t, "ImportAudit", im.ImportAudit(e1))
		noErr(t, "ImportIntent", im.ImportIntent(failed))
		wantErr(t, "ImportRevocation twice", im.ImportRevocation(store.Revocation{Seq: 2, Serial: serial, Issuer: "issuing-ca",
			UserID: user, PartyID: party, Reason: 1, RevokedAt: base}), store.ErrAlreadyRevoked)
		ins, err := ex.Intents("", 0)
		noErr(t, "Intents", err)
		same(t, "imported intent", ins, []store.Intent{failed})
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		c, err := tx.GetCertificate(serial)
		noErr(t, "GetCertificate", err)
		if c.Status != store.StatusRevoked || c.RevocationSeq != 1 || c.Reason != 5 || !c.RevokedAt.Equal(base) {
			t.Fatalf("imported revocation: %+v", c)
		}
		r, err := tx.Revoke(other, 1, base)
		noErr(t, "Revoke after import", err)
		if r.Seq != 2 {
			t.Fatalf("Revoke after importing seq 1 got seq %d", r.Seq)
		}
		_, err = tx.AppendAudit(store.AuditEntry{Time: base, Action: "y"})
		noErr(t, "AppendAudit after import", err)
		return nil
	})
	all := sealed(t, s)
	if len(all) != 2 || all[1].Seq != 2 || !equalBytes(all[1].PrevHash, e1.Hash) {
		t.Fatalf("AppendAudit after import: %d entries, links %v", len(all), len(all) == 2 && equalBytes(all[1].PrevHash, e1.Hash))
	}
	_, err := store.VerifyChain(nil, 1, all)
	noErr(t, "VerifyChain", err)
	wantErr(t, "ImportAudit in a View", s.View(context.Background(), func(tx store.Tx) error {
		_, im := ports(t, tx)
		return im.ImportAudit(e1)
	}), store.ErrReadOnly)
}

// populate puts a little of everything in s.
func populate(t *testing.T, s store.Store) {
	party, user := eui(), eui()
	var revoked []string
	update(t, s, func(tx store.Tx) error {
		noErr(t, "PutMeta", tx.PutMeta("ca/state", []byte(`{"v":1}`)))
		noErr(t, "PutMeta empty", tx.PutMeta("empty", nil))
		noErr(t, "CreateParty", tx.CreateParty(store.Party{ID: party, Name: "p", Status: store.StatusActive, CreatedAt: base}))
		noErr(t, "CreateUser", tx.CreateUser(store.User{ID: user, PartyID: party, Role: "SC", Name: "u", Status: store.StatusActive, CreatedAt: base}))
		noErr(t, "CreateOfficer", tx.CreateOfficer(store.Officer{ID: "sro-1", PartyID: party, Kind: "sro", CertSerial: "ab", Status: store.StatusActive, CreatedAt: base}))
		noErr(t, "CreateOfficer RA", tx.CreateOfficer(store.Officer{ID: "admin", Kind: "ra-operator", Status: store.StatusActive, CreatedAt: base}))
		for i := 0; i < 6; i++ {
			sn := randSerial(t)
			noErr(t, "CreateIntent", tx.CreateIntent(intent(sn, user)))
			switch i % 3 {
			case 0: // open: a crash between intent and record
				continue
			case 1:
				noErr(t, "SetIntentState", tx.SetIntentState(sn, store.IntentFailed))
				continue
			}
			noErr(t, "PutCertificate", tx.PutCertificate(cert(sn, user, party)))
			noErr(t, "SetIntentState", tx.SetIntentState(sn, store.IntentCompleted))
			revoked = append(revoked, sn)
		}
		// A certificate without an intent (CA certificates from Init).
		ca := cert(randSerial(t), "", "")
		ca.KeyHash = ""
		noErr(t, "PutCertificate CA", tx.PutCertificate(ca))
		noErr(t, "PutRecord", tx.PutRecord("solr-event", "e1", []byte(`{"state":"approved"}`)))
		noErr(t, "PutRecord", tx.PutRecord("device", "d1", []byte{}))
		noErr(t, "PutRecord", tx.PutRecord("gone", "g1", []byte("x")))
		noErr(t, "DeleteRecord", tx.DeleteRecord("gone", "g1"))
		noErr(t, "PutCRL", tx.PutCRL(store.CRL{Name: "orl", Number: 7, ThisUpdate: base, NextUpdate: base.Add(time.Hour), DER: []byte("crl")}))
		return nil
	})
	for i, sn := range revoked[:1] {
		update(t, s, func(tx store.Tx) error {
			_, err := tx.Revoke(sn, i+1, base.Add(time.Duration(i)))
			return err
		})
	}
	for i := 0; i < 3; i++ {
		update(t, s, func(tx store.Tx) error {
			_, err := tx.AppendAudit(store.AuditEntry{Time: base.Add(time.Duration(i) + 1), Actor: "ra", Action: "act", Detail: "d"})
			return err
		})
	}
}

// testMigrate: a copy into an empty store of the same engine has the same
// digest, keeps counting where the source stopped, and refuses a
// non-empty destination; the digest notices a one-byte change.
func testMigrate(t *testing.T, src, dst store.Store) {
	ctx := context.Background()
	populate(t, src)
	noErr(t, "Copy", migrate.Copy(ctx, src, dst))
	a, err := migrate.Digest(ctx, src)
	noErr(t, "Digest src", err)
	b, err := migrate.Digest(ctx, dst)
	noErr(t, "Digest dst", err)
	noErr(t, "Compare", migrate.Compare(a, b))
	want := map[string]int{"meta": 2, "intents": 6, "certificates": 3, "revocations": 1, "crls": 1,
		"parties": 1, "users": 1, "officers": 2, "records": 2, "audit": 3, "counters": 1}
	for _, s := range a {
		if s.Count != want[s.Type] {
			t.Errorf("digest %s: count %d, want %d", s.Type, s.Count, want[s.Type])
		}
	}
	wantErr(t, "Copy into a non-empty store", migrate.Copy(ctx, src, dst), migrate.ErrNotEmpty)
	again, err := migrate.Digest(ctx, dst)
	noErr(t, "Digest dst", err)
	noErr(t, "refused Copy wrote nothing", migrate.Compare(b, again))

	update(t, dst, func(tx store.Tx) error {
		good, err := tx.ListCertificates(store.CertFilter{Status: store.StatusGood, Issuer: "issuing-ca", Limit: 1})
		noErr(t, "ListCertificates", err)
		r, err := tx.Revoke(good[0].Serial, 4, base)
		noErr(t, "Revoke in the copy", err)
		if r.Seq != 2 {
			t.Fatalf("copy continues revocations at %d, want 2", r.Seq)
		}
		_, err = tx.AppendAudit(store.AuditEntry{Time: base, Action: "after"})
		noErr(t, "AppendAudit in the copy", err)
		return nil
	})
	all := sealed(t, dst)
	if len(all) != 4 || all[3].Action != "after" {
		t.Fatalf("copy continues the audit chain with %d entries, want 4", len(all))
	}
	_, err = store.VerifyChain(nil, 1, all)
	noErr(t, "VerifyChain of the copy", err)
	changed, err := migrate.Digest(ctx, dst)
	noErr(t, "Digest", err)
	if err := migrate.Compare(a, changed); !errors.Is(err, migrate.ErrMismatch) {
		t.Fatalf("Compare after a change: %v, want ErrMismatch", err)
	}
}
