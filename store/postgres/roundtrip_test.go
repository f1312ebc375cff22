package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
)

// TestRoundTrips: what a transaction costs in round trips on the paths
// that run most, so that a change adding one fails here. Each path runs
// twice and the second is counted (the first prepares its statements).
// An RA issuance group records its certificates and their audit entries
// in two: BEGIN with the read ahead of the checks' users and the records'
// statement (the checks run after it, store.Grouper), and COMMIT with the
// audit entries (txConn.Defer); a group of intents in two; an audit entry
// on its own (Store.Audit) in two. A View that reads only what it read
// ahead (the RA's authentication and enrolment checks) takes one: BEGIN,
// the reads and COMMIT; one without a read ahead, two.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	rt := &pgtest.RoundTrips{}
	s, err := postgres.Open(context.Background(), schemaURL(t), postgres.WithPoolConfig(func(c *pgxpool.Config) {
		c.ConnConfig.Tracer = rt
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := rt.Counted(context.Background())
	p := store.Party{ID: "90-B3-D5-1F-30-00-00-01", Name: "P", Status: store.StatusActive}
	u := store.User{ID: "90-B3-D5-1F-30-01-00-01", PartyID: p.ID, Role: "IS", Name: "U", Status: store.StatusActive}
	o := store.Officer{ID: "aro-a", Name: "A", PartyID: p.ID, Kind: "aro", CertSerial: "0a", Status: store.StatusActive, AppointedBy: "ra"}
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateParty(p); err != nil {
			return err
		}
		if err := tx.CreateOfficer(o); err != nil {
			return err
		}
		return tx.CreateUser(u)
	}); err != nil {
		t.Fatal(err)
	}
	g := store.NewGrouper(store.UpdateOf(s))
	active := func(tx store.Tx) error {
		got, err := tx.GetUser(u.ID)
		if err != nil {
			return err
		}
		party, err := tx.GetParty(got.PartyID)
		if err != nil {
			return err
		}
		if got.Status != store.StatusActive || party.Status != store.StatusActive {
			return errors.New("not active")
		}
		return nil
	}
	counted := func(name string, want int64, fn func() error) {
		t.Helper()
		for i := range 2 {
			n0 := rt.N()
			if err := fn(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got := rt.N() - n0; i == 1 && got != want {
				t.Errorf("%s: %d round trips, want %d", name, got, want)
			}
		}
	}
	var serials []string
	counted("a group of intents", 2, func() error {
		serial := benchSerial()
		serials = append(serials, serial)
		return g.CreateIntent(ctx, store.NewIntent{KeyHash: serial, Intent: store.Intent{Serial: serial, Issuer: "issuing-ca",
			Profile: "xml-signing", UserID: u.ID, LintDER: []byte{0x30, 0}, CreatedAt: benchAt, State: store.IntentOpen}})
	})
	recorded := 0
	counted("a group of records with audit entries and checks", 2, func() error {
		serial := serials[recorded]
		recorded++
		return g.RecordIssued(ctx, store.IssuedRecord{Cert: benchCert(serial, u.ID, p.ID), Check: active,
			Audit: []store.AuditEntry{{Time: benchAt, Actor: "aro-a", Action: "cert.enrol", Subject: "user:" + u.ID, Result: "allowed"}}})
	})
	if recorded != 2 {
		t.Fatal("the second record did not run")
	}
	counted("an audit entry", 2, func() error {
		return s.Audit(ctx, store.AuditEntry{Time: benchAt, Actor: "ra", Action: "user.read", Subject: "user:" + u.ID, Result: "allowed"})
	})
	counted("an authentication View (the officer read ahead)", 1, func() error {
		return s.View(ctx, func(tx store.Tx) error {
			if err := store.Prefetch(tx, store.ReadAhead{Officers: []string{o.ID}}); err != nil {
				return err
			}
			got, err := tx.GetOfficer(o.ID)
			if err == nil && got.CertSerial != o.CertSerial {
				t.Errorf("GetOfficer = %+v", got)
			}
			return err
		})
	})
	counted("an enrolment View (user, party, officer, key, replaced certificate read ahead)", 1, func() error {
		return s.View(ctx, func(tx store.Tx) error {
			ahead := store.ReadAhead{Users: []string{u.ID}, Officers: []string{o.ID}, KeyHashes: []string{serials[0]},
				Certificates: []string{serials[0]}}
			if err := store.Prefetch(tx, ahead); err != nil {
				return err
			}
			if _, err := tx.GetOfficer(o.ID); err != nil {
				return err
			}
			if _, err := tx.GetUser(u.ID); err != nil {
				return err
			}
			if _, err := tx.GetParty(p.ID); err != nil {
				return err
			}
			if cs, err := tx.CertificatesByKey(serials[0]); err != nil || len(cs) != 1 {
				return fmt.Errorf("CertificatesByKey: %d, %v", len(cs), err)
			}
			_, err := tx.GetCertificate(serials[0])
			return err
		})
	})
	counted("a View without a read ahead", 2, func() error {
		return s.View(ctx, func(tx store.Tx) error { _, err := tx.GetUser(u.ID); return err })
	})
	// A View that reads past its read ahead after ending with it runs
	// again, even if it swallows the error: 1 round trip, then BEGIN with
	// the read ahead, the other read and COMMIT.
	runs := 0
	counted("a View reading past its read ahead", 4, func() error {
		runs = 0
		var found bool
		err := s.View(ctx, func(tx store.Tx) error {
			runs++
			if err := store.Prefetch(tx, store.ReadAhead{Officers: []string{o.ID}}); err != nil {
				return err
			}
			if _, err := tx.GetOfficer(o.ID); err != nil {
				return err
			}
			_, err := tx.GetUser(u.ID)
			found = err == nil // swallowed
			return nil
		})
		if err == nil && (!found || runs != 2) {
			t.Errorf("a View reading past its read ahead: user found %v after %d runs, want found after 2", found, runs)
		}
		return err
	})
	// A revocation as the CA makes one: the revocation counter locked
	// with BEGIN, the check, the COPY (sent below pgx's tracer: not
	// counted), the CRL and the meta key read, then the CRL, the meta key
	// and the counter written back with the transaction ID's query, and
	// COMMIT: 6 counted (8 before the CRL and meta writes were deferred).
	revoked := 0
	counted("a revocation with its CRL reissued", 6, func() error {
		serial := serials[revoked]
		revoked++
		return s.Urgent(ctx, func(tx store.Tx) error {
			if _, err := tx.RevokeMany([]string{serial}, 1, benchAt); err != nil {
				return err
			}
			crl, err := tx.GetCRL("orl")
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if _, err := tx.GetMeta("orl-state"); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			crl.Name, crl.Number, crl.ThisUpdate, crl.NextUpdate, crl.DER = "orl", crl.Number+1, benchAt, benchAt.Add(time.Hour), []byte{0x30, 0}
			if err := tx.PutCRL(crl); err != nil {
				return err
			}
			return tx.PutMeta("orl-state", []byte("x"))
		})
	})
	if err := s.View(ctx, func(tx store.Tx) error {
		crl, err := tx.GetCRL("orl")
		if err == nil && crl.Number != 2 {
			err = fmt.Errorf("CRL number %d after two revocations, want 2", crl.Number)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.SealAudit(ctx); err != nil {
		t.Fatal(err)
	}
	entries, err := auditEntries(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(strings.Join(entries, " "), "cert.enrol"); got != 2 {
		t.Errorf("%d cert.enrol entries chained, want 2 (one per record): %v", got, entries)
	}
	if got := strings.Count(strings.Join(entries, " "), "user.read"); got != 2 {
		t.Errorf("%d user.read entries chained, want 2: %v", got, entries)
	}
}

// auditEntries is the chained audit log's actions, in order.
func auditEntries(ctx context.Context, s store.Store) ([]string, error) {
	var out []string
	err := s.View(ctx, func(tx store.Tx) error {
		es, err := tx.AuditEntries(0, 0)
		for _, e := range es {
			out = append(out, e.Action)
		}
		return err
	})
	return out, err
}

// TestDeferredWriteFails: a write held for the next round trip
// (txConn.Defer: here an audit entry, refused by a trigger the test
// installs) fails its transaction as its own round trip would have,
// whether it went with COMMIT or with a later statement: the error names
// the write, nothing of the transaction is committed, and the next
// transactions (on the same connections) commit normally.
func TestDeferredWriteFails(t *testing.T) {
	t.Parallel()
	s := storeWithSQL(t, `CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.subject = 'boom' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER refuse_boom BEFORE INSERT ON audit_pending FOR EACH ROW EXECUTE FUNCTION refuse_boom()`)
	ctx := context.Background()
	entry := func(subject string) store.AuditEntry {
		return store.AuditEntry{Time: benchAt, Actor: "ra", Action: "test", Subject: subject, Result: "allowed"}
	}
	party := func(n byte) store.Party {
		return store.Party{ID: "90-B3-D5-1F-30-00-00-0" + string('0'+n), Name: "P", Status: store.StatusActive}
	}
	exists := func(p store.Party) bool {
		t.Helper()
		err := s.View(ctx, func(tx store.Tx) error { _, err := tx.GetParty(p.ID); return err })
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	for range 3 { // more times than the pool has idle connections to hand back
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.CreateParty(party(1)); err != nil {
				return err
			}
			_, err := tx.AppendAudit(entry("boom"))
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "append audit") || !strings.Contains(err.Error(), "refused by the test trigger") {
			t.Fatalf("deferred write refused at COMMIT: got %v", err)
		}
		if exists(party(1)) {
			t.Fatal("the party of a transaction whose deferred write failed was committed")
		}
		err = s.Update(ctx, func(tx store.Tx) error {
			if _, err := tx.AppendAudit(entry("boom")); err != nil {
				return err
			}
			return tx.CreateParty(party(2))
		})
		if err == nil || !strings.Contains(err.Error(), "refused by the test trigger") {
			t.Fatalf("deferred write refused with a later statement: got %v", err)
		}
		if exists(party(2)) {
			t.Fatal("a statement after a failed deferred write was committed")
		}
		if err := s.Audit(ctx, entry("boom")); err == nil {
			t.Fatal("Store.Audit of a refused entry succeeded")
		}
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateParty(party(3)); err != nil {
			return err
		}
		_, err := tx.AppendAudit(entry("fine"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Audit(ctx, entry("fine too")); err != nil {
		t.Fatal(err)
	}
	if !exists(party(3)) {
		t.Fatal("the party of a good transaction after the failures is missing")
	}
	if err := s.SealAudit(ctx); err != nil {
		t.Fatal(err)
	}
	actions, err := auditEntries(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(strings.Join(actions, " "), "test"); got != 2 {
		t.Errorf("%d test entries chained, want 2 (the refused ones wrote nothing): %v", got, actions)
	}
}

// TestUnreadReadAheadIsNotSent: a read ahead nothing read is dropped when
// the transaction's function returns, not sent with its deferred writes
// and COMMIT, where a failure to read its answer (here a row the client
// cannot decode) would report a failure for a transaction that committed.
func TestUnreadReadAheadIsNotSent(t *testing.T) {
	t.Parallel()
	u := schemaURL(t)
	s := openURL(t, u)
	ctx := context.Background()
	const pid, uid = "90-B3-D5-1F-30-00-00-01", "90-B3-D5-1F-30-01-00-01"
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateParty(store.Party{ID: pid, Name: "P", Status: store.StatusActive, CreatedAt: benchAt}); err != nil {
			return err
		}
		return tx.CreateUser(store.User{ID: uid, PartyID: pid, Role: "1", Name: "U", Status: store.StatusActive, CreatedAt: benchAt})
	}); err != nil {
		t.Fatal(err)
	}
	execSQL(t, u, "UPDATE users SET created_at = 'garbage' WHERE id = '"+uid+"'")
	const serial = "0a0b0c0d"
	err := s.Update(ctx, func(tx store.Tx) error {
		errs, err := store.CreateIntents(tx, []store.NewIntent{{Intent: store.Intent{Serial: serial, Issuer: "issuing-ca",
			Profile: "xml-signing", UserID: uid, LintDER: []byte{1}, CreatedAt: benchAt, State: store.IntentOpen}}})
		if err != nil {
			return err
		}
		if errs[0] != nil {
			return errs[0]
		}
		if err := store.Prefetch(tx, store.ReadAhead{Users: []string{uid}}); err != nil {
			return err
		}
		_, err = tx.AppendAudit(store.AuditEntry{Time: benchAt, Actor: "ra", Action: "test", Subject: "x", Result: "allowed"})
		return err
	})
	var ierr error
	verr := s.View(ctx, func(tx store.Tx) error { _, ierr = tx.GetIntent(serial); return nil })
	if verr != nil {
		t.Fatal(verr)
	}
	if err != nil && ierr == nil {
		t.Fatalf("Update failed (%v) but its intent was committed", err)
	}
	if err == nil && errors.Is(ierr, store.ErrNotFound) {
		t.Fatal("Update succeeded but wrote nothing")
	}
}

// TestDeferredWriteRaceRetriesQueued: an issuance's serialisation failure
// raised by a deferred write (a trigger raises 40001 under SERIALIZABLE
// only) is retried queued, at READ COMMITTED (errIssuanceRace), whether it
// surfaces at COMMIT or at the transaction-ID query that runs before
// COMMIT when no statement returned the ID.
func TestDeferredWriteRaceRetriesQueued(t *testing.T) {
	t.Parallel()
	s := storeWithSQL(t, `CREATE FUNCTION race() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.subject = 'race' AND current_setting('transaction_isolation') = 'serializable' THEN
			RAISE EXCEPTION 'simulated serialisation failure' USING ERRCODE = '40001'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER race BEFORE INSERT ON audit_pending FOR EACH ROW EXECUTE FUNCTION race()`)
	ctx := context.Background()
	const pid, uid = "90-B3-D5-1F-30-00-00-01", "90-B3-D5-1F-30-01-00-01"
	run := func(name string, withIntent bool) {
		t.Run(name, func(t *testing.T) {
			sn := benchSerial()
			runs := 0
			err := s.Update(ctx, func(tx store.Tx) error {
				runs++
				if withIntent { // notes the transaction ID: the audit INSERT goes with COMMIT
					if _, err := store.CreateIntents(tx, []store.NewIntent{{Intent: store.Intent{Serial: benchSerial(), Issuer: "issuing-ca",
						Profile: "xml-signing", UserID: uid, LintDER: []byte{1}, CreatedAt: benchAt, State: store.IntentOpen}}}); err != nil {
						return err
					}
				}
				if err := tx.PutCertificate(benchCert(sn, uid, pid)); err != nil {
					return err
				}
				_, err := tx.AppendAudit(store.AuditEntry{Time: benchAt, Actor: "ra", Action: "test", Subject: "race", Result: "allowed"})
				return err
			})
			if err != nil || runs != 2 {
				t.Errorf("%d runs, %v: want the second (queued) run to commit", runs, err)
			}
		})
	}
	run("commit path", true)
	run("xid query path", false)
}

// storeWithSQL opens a store on a fresh schema after running setup there
// (triggers a test installs).
func storeWithSQL(t *testing.T, setup string) *postgres.Store {
	t.Helper()
	u := schemaURL(t)
	s := openURL(t, u)
	execSQL(t, u, setup)
	return s
}

// execSQL runs sql on a connection of its own to the schema at u.
func execSQL(t *testing.T, u, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}
