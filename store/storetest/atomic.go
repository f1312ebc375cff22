package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

var errAbort = errors.New("storetest: deliberate abort")

// state is what testAtomic and testViewReadOnly compare before and after.
type state struct {
	revSeq   uint64
	audit    int
	certs    int
	revoked  int
	intents  int
	parties  int
	users    int
	officers int
	meta     string
	crl      uint64
}

func snapshot(t *testing.T, s store.Store) state {
	t.Helper()
	noErr(t, "SealAudit", s.SealAudit(context.Background()))
	var st state
	view(t, s, func(tx store.Tx) error {
		var err error
		st.revSeq, err = tx.RevocationSeq()
		noErr(t, "RevocationSeq", err)
		a, err := tx.AuditEntries(1, 0)
		noErr(t, "AuditEntries", err)
		c, err := tx.ListCertificates(store.CertFilter{})
		noErr(t, "ListCertificates", err)
		r, err := tx.ListCertificates(store.CertFilter{Status: store.StatusRevoked})
		noErr(t, "ListCertificates", err)
		i, err := tx.OpenIntents()
		noErr(t, "OpenIntents", err)
		p, err := tx.ListParties()
		noErr(t, "ListParties", err)
		u, err := tx.ListUsers("")
		noErr(t, "ListUsers", err)
		o, err := tx.ListOfficers("")
		noErr(t, "ListOfficers", err)
		m, err := tx.GetMeta("k")
		noErr(t, "GetMeta", err)
		crl, err := tx.GetCRL("orl")
		noErr(t, "GetCRL", err)
		st.audit, st.certs, st.revoked, st.intents = len(a), len(c), len(r), len(i)
		st.parties, st.users, st.officers, st.meta, st.crl = len(p), len(u), len(o), string(m), crl.Number
		return nil
	})
	return st
}

// seed gives the store one of everything, so that a rolled-back overwrite
// is distinguishable from a rolled-back insert.
func seed(t *testing.T, s store.Store) (good string) {
	user, party := eui(), eui()
	c1, c2 := cert(randSerial(t), user, party), cert(randSerial(t), user, party)
	update(t, s, func(tx store.Tx) error {
		noErr(t, "PutMeta", tx.PutMeta("k", []byte("before")))
		noErr(t, "PutCRL", tx.PutCRL(store.CRL{Name: "orl", Number: 1, DER: []byte{1}}))
		noErr(t, "CreateParty", tx.CreateParty(store.Party{ID: party, CreatedAt: base}))
		noErr(t, "CreateUser", tx.CreateUser(store.User{ID: user, PartyID: party, CreatedAt: base}))
		noErr(t, "CreateOfficer", tx.CreateOfficer(store.Officer{ID: "o1", PartyID: party, CreatedAt: base}))
		noErr(t, "CreateIntent", tx.CreateIntent(intent(c1.Serial, user)))
		noErr(t, "PutCertificate", tx.PutCertificate(c1))
		noErr(t, "PutCertificate", tx.PutCertificate(c2))
		_, err := tx.Revoke(c1.Serial, 1, base)
		noErr(t, "Revoke", err)
		_, err = tx.AppendAudit(store.AuditEntry{Time: base, Action: "seed"})
		noErr(t, "AppendAudit", err)
		return nil
	})
	return c2.Serial
}

// writeEverything calls every write method once, successfully, and
// returns the first error (a View's ErrReadOnly).
func writeEverything(t *testing.T, tx store.Tx, good string) []error {
	user, party := eui(), eui()
	sn := randSerial(t)
	_, revErr := tx.Revoke(good, 1, base.Add(time.Hour))
	_, auditErr := tx.AppendAudit(store.AuditEntry{Time: base, Action: "doomed"})
	return []error{
		tx.PutMeta("k", []byte("after")),
		tx.PutCRL(store.CRL{Name: "orl", Number: 2, DER: []byte{2}}),
		tx.CreateParty(store.Party{ID: party, CreatedAt: base}),
		tx.CreateUser(store.User{ID: user, PartyID: party, CreatedAt: base}),
		tx.CreateOfficer(store.Officer{ID: "o2", PartyID: party, CreatedAt: base}),
		tx.CreateIntent(intent(sn, user)),
		tx.PutCertificate(cert(sn, user, party)),
		tx.SetIntentState(sn, store.IntentCompleted),
		revokeMany(tx, sn),
		revErr,
		auditErr,
	}
}

func revokeMany(tx store.Tx, serials ...string) error {
	_, err := tx.RevokeMany(serials, 1, base.Add(time.Hour))
	return err
}

func testAtomic(t *testing.T, s store.Store) {
	good := seed(t, s)
	before := snapshot(t, s)
	err := s.Update(context.Background(), func(tx store.Tx) error {
		for _, err := range writeEverything(t, tx, good) {
			noErr(t, "write in doomed Update", err)
		}
		return errAbort
	})
	wantErr(t, "Update returning an error", err, errAbort)
	if after := snapshot(t, s); after != before {
		t.Fatalf("failed Update left writes behind:\nbefore %+v\nafter  %+v", before, after)
	}
	// The sequences did not advance: the next revocation and audit entry
	// take the numbers the rolled-back ones had.
	update(t, s, func(tx store.Tx) error {
		r, err := tx.Revoke(good, 1, base)
		noErr(t, "Revoke", err)
		_, err = tx.AppendAudit(store.AuditEntry{Time: base, Action: "after"})
		noErr(t, "AppendAudit", err)
		if r.Seq != before.revSeq+1 {
			t.Fatalf("after rollback: revocation seq %d; want %d", r.Seq, before.revSeq+1)
		}
		return nil
	})
	all := sealed(t, s)
	if len(all) != before.audit+1 || all[len(all)-1].Action != "after" {
		t.Fatalf("after rollback: %d audit entries, the last %+v; want %d, the last \"after\"", len(all), all[len(all)-1], before.audit+1)
	}
	_, err = store.VerifyChain(nil, 1, all)
	noErr(t, "VerifyChain after rollback", err)

	// A panic in fn rolls back too, and is not swallowed.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic in Update fn was swallowed")
			}
		}()
		_ = s.Update(context.Background(), func(tx store.Tx) error {
			noErr(t, "PutMeta", tx.PutMeta("k", []byte("panic")))
			panic("storetest: deliberate panic")
		})
	}()
	view(t, s, func(tx store.Tx) error {
		v, err := tx.GetMeta("k")
		noErr(t, "GetMeta", err)
		if string(v) != "before" {
			t.Fatalf("meta after panicking Update = %q", v)
		}
		return nil
	})
}

func testViewReadOnly(t *testing.T, s store.Store) {
	good := seed(t, s)
	before := snapshot(t, s)
	view(t, s, func(tx store.Tx) error {
		for i, err := range writeEverything(t, tx, good) {
			if !errors.Is(err, store.ErrReadOnly) {
				t.Errorf("write %d in View: got %v, want ErrReadOnly", i, err)
			}
		}
		return nil
	})
	if after := snapshot(t, s); after != before {
		t.Fatalf("View wrote:\nbefore %+v\nafter  %+v", before, after)
	}
}

func testCanceled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := s.Update(ctx, func(tx store.Tx) error { ran = true; return tx.PutMeta("k", []byte("x")) })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("Update with canceled context: err %v, fn ran %v; want context.Canceled, not run", err, ran)
	}
	err = s.View(ctx, func(store.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("View with canceled context: err %v, fn ran %v", err, ran)
	}
}

// testClose: after Close every call fails with the one store.ErrClosed,
// whatever the engine, so callers branch with errors.Is alone.
func testClose(t *testing.T, s store.Store) {
	noErr(t, "Close", s.Close())
	if err := s.Update(context.Background(), func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Update after Close: %v, want store.ErrClosed", err)
	}
	if err := s.View(context.Background(), func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("View after Close: %v, want store.ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("second Close: %v, want store.ErrClosed", err)
	}
}
