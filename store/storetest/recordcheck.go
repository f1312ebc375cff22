package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// testPrefetchSeesWrites: in an Update, what was read ahead of
// certificates (by key and by serial) and records answers as the tables
// do after the transaction's own writes: a certificate recorded
// (RecordIssued) or put, a revocation, a record written or deleted, made
// before or after the read ahead's answers were used.
func testPrefetchSeesWrites(t *testing.T, s store.Store) {
	user, party := eui(), eui()
	a := cert(randSerial(t), user, party)
	const kind = "prefetch-test"
	update(t, s, func(tx store.Tx) error {
		noErr(t, "CreateIntent", tx.CreateIntent(intent(a.Serial, user)))
		noErr(t, "PutCertificate", tx.PutCertificate(a))
		return tx.PutRecord(kind, "a", []byte("v1"))
	})
	for _, early := range []bool{false, true} {
		t.Run(fmt.Sprintf("written before the first read: %v", early), func(t *testing.T) {
			n, m := cert(randSerial(t), user, party), cert(randSerial(t), user, party)
			n.KeyHash, m.KeyHash = a.KeyHash, a.KeyHash
			update(t, s, func(tx store.Tx) error {
				noErr(t, "CreateIntent", tx.CreateIntent(intent(n.Serial, user)))
				return tx.CreateIntent(intent(m.Serial, user))
			})
			ahead := store.ReadAhead{KeyHashes: []string{a.KeyHash}, Certificates: []string{a.Serial, n.Serial, m.Serial},
				Records: []store.RecordKey{{Kind: kind, ID: "a"}, {Kind: kind, ID: "b"}}}
			// check reads what the test expects: the serials of a's key,
			// a's status, whether n and m exist, and records a and b.
			check := func(tx store.Tx, what string, keyed []string, aStatus store.CertStatus, recA, recB string) {
				t.Helper()
				cs, err := tx.CertificatesByKey(a.KeyHash)
				noErr(t, what+": CertificatesByKey", err)
				if got := serials(cs); fmt.Sprint(got) != fmt.Sprint(keyed) {
					t.Fatalf("%s: CertificatesByKey = %v, want %v", what, got, keyed)
				}
				got, err := tx.GetCertificate(a.Serial)
				noErr(t, what+": GetCertificate", err)
				if got.Status != aStatus {
					t.Fatalf("%s: certificate a is %s, want %s", what, got.Status, aStatus)
				}
				for _, c := range cs {
					one, err := tx.GetCertificate(c.Serial)
					noErr(t, what+": GetCertificate", err)
					same(t, what+": GetCertificate "+c.Serial, one, c)
				}
				for id, want := range map[string]string{"a": recA, "b": recB} {
					v, err := tx.GetRecord(kind, id)
					switch {
					case want == "":
						wantErr(t, what+": GetRecord "+id, err, store.ErrNotFound)
					case err != nil || string(v) != want:
						t.Fatalf("%s: GetRecord %s = %q, %v, want %q", what, id, v, err, want)
					}
				}
			}
			sorted := func(ss ...string) []string { return slices.Sorted(slices.Values(ss)) }
			update(t, s, func(tx store.Tx) error {
				noErr(t, "Prefetch", store.Prefetch(tx, ahead))
				if !early {
					check(tx, "read ahead", []string{a.Serial}, store.StatusGood, "v1", "")
				}
				errs, err := store.RecordIssued(tx, []store.Certificate{n})
				noErr(t, "RecordIssued", err)
				noErr(t, "RecordIssued n", errs[0])
				check(tx, "after RecordIssued", sorted(a.Serial, n.Serial), store.StatusGood, "v1", "")
				_, err = tx.Revoke(a.Serial, 1, base)
				noErr(t, "Revoke", err)
				check(tx, "after Revoke", sorted(a.Serial, n.Serial), store.StatusRevoked, "v1", "")
				noErr(t, "PutCertificate", tx.PutCertificate(m))
				check(tx, "after PutCertificate", sorted(a.Serial, n.Serial, m.Serial), store.StatusRevoked, "v1", "")
				noErr(t, "PutRecord", tx.PutRecord(kind, "b", []byte("new")))
				noErr(t, "DeleteRecord", tx.DeleteRecord(kind, "a"))
				check(tx, "after the record writes", sorted(a.Serial, n.Serial, m.Serial), store.StatusRevoked, "", "new")
				return nil
			})
			view(t, s, func(tx store.Tx) error {
				noErr(t, "Prefetch", store.Prefetch(tx, ahead))
				check(tx, "after commit", sorted(a.Serial, n.Serial, m.Serial), store.StatusRevoked, "", "new")
				return nil
			})
			// The next run starts as this one did.
			a = cert(randSerial(t), user, party)
			update(t, s, func(tx store.Tx) error {
				noErr(t, "CreateIntent", tx.CreateIntent(intent(a.Serial, user)))
				noErr(t, "PutCertificate", tx.PutCertificate(a))
				noErr(t, "DeleteRecord", tx.DeleteRecord(kind, "b"))
				return tx.PutRecord(kind, "a", []byte("v1"))
			})
		})
	}
}

// testGrouperConflicts: records whose checks read what the group's other
// records write (another certificate of the key; a record the other's
// With writes), queued into one group, are recorded one transaction after
// the other when they share a Conflicts name: the first is recorded with
// its With write, the second's Check sees it and refuses (its intent
// failed), as it would have in a later group.
func testGrouperConflicts(t *testing.T, s store.Store) {
	g := store.NewGrouper(store.UpdateOf(s))
	ctx := context.Background()
	const kind = "replaced-test"
	errTaken := errors.New("key already certified")
	errReplaced := errors.New("already replaced")
	for _, tc := range []struct {
		name    string
		sameKey bool
	}{
		{"one key", true},
		{"two keys, one replaced", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user, party, x := eui(), eui(), randSerial(t)
			cs := []store.Certificate{cert(randSerial(t), user, party), cert(randSerial(t), user, party)}
			if tc.sameKey {
				cs[1].KeyHash = cs[0].KeyHash
			}
			update(t, s, func(tx store.Tx) error {
				for _, c := range cs {
					noErr(t, "CreateIntent", tx.CreateIntent(intent(c.Serial, user)))
				}
				return nil
			})
			record := func(c store.Certificate) store.IssuedRecord {
				return store.IssuedRecord{Cert: c,
					Check: func(tx store.Tx) error {
						keyed, err := tx.CertificatesByKey(c.KeyHash)
						if err != nil {
							return err
						}
						for _, k := range keyed {
							if k.Serial != c.Serial { // its own, if recorded already, is ignored
								return fmt.Errorf("%w: %s", errTaken, k.Serial)
							}
						}
						switch _, err := tx.GetRecord(kind, x); {
						case err == nil:
							return errReplaced
						case !errors.Is(err, store.ErrNotFound):
							return err
						}
						return nil
					},
					Reads:     store.ReadAhead{KeyHashes: []string{c.KeyHash}, Records: []store.RecordKey{{Kind: kind, ID: x}}},
					Conflicts: []string{"key:" + c.KeyHash, "replaces:" + x},
					With:      func(tx store.Tx) error { return tx.PutRecord(kind, x, []byte(c.Serial)) },
					Audit:     []store.AuditEntry{{Time: base, Actor: "ca", Action: "issue", Subject: c.Serial, Result: "ok"}},
				}
			}
			// Hold the Grouper in a change so that both records queue
			// for the next group.
			started, release := make(chan struct{}), make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				var once sync.Once
				noErr(t, "holding change", g.Update(ctx, func(store.Tx) error {
					once.Do(func() { close(started) })
					<-release
					return nil
				}))
			})
			<-started
			errs := make([]error, len(cs))
			for i, c := range cs {
				wg.Go(func() { errs[i] = g.RecordIssued(ctx, record(c)) })
			}
			time.Sleep(50 * time.Millisecond) // both queued
			close(release)
			wg.Wait()
			win := -1
			for i, err := range errs {
				var cr *store.CheckRefusal
				switch {
				case err == nil && win < 0:
					win = i
				case err == nil:
					t.Fatalf("both records of %s written: a Check did not see the other's", tc.name)
				case !errors.As(err, &cr):
					t.Fatalf("record %d: %v, want a CheckRefusal", i, err)
				case tc.sameKey && !errors.Is(err, errTaken), !tc.sameKey && !errors.Is(err, errReplaced):
					t.Fatalf("record %d refused: %v", i, err)
				}
			}
			if win < 0 {
				t.Fatalf("no record written: %v", errs)
			}
			view(t, s, func(tx store.Tx) error {
				v, err := tx.GetRecord(kind, x)
				noErr(t, "GetRecord", err)
				if string(v) != cs[win].Serial {
					t.Fatalf("With wrote %q, want the recorded %s", v, cs[win].Serial)
				}
				for i, c := range cs {
					in, err := tx.GetIntent(c.Serial)
					noErr(t, "GetIntent", err)
					_, cerr := tx.GetCertificate(c.Serial)
					if want := map[bool]store.IntentState{true: store.IntentCompleted, false: store.IntentFailed}[i == win]; in.State != want {
						t.Fatalf("intent %d is %s, want %s", i, in.State, want)
					}
					if (cerr == nil) != (i == win) {
						t.Fatalf("certificate %d: %v", i, cerr)
					}
				}
				return nil
			})
			for _, e := range sealed(t, s) {
				if e.Subject == cs[1-win].Serial {
					t.Fatalf("the audit entry of the refused record was written: %+v", e)
				}
			}
		})
	}
}

// testRevocationWaitsForReader: a certificate an Update has read, with
// GetCertificate or read ahead, cannot be revoked by another transaction
// (an Urgent one) before the Update commits: the revocation returns after
// the Update's function did.
func testRevocationWaitsForReader(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, ahead := range []bool{false, true} {
		t.Run(fmt.Sprintf("read ahead: %v", ahead), func(t *testing.T) {
			c := cert(randSerial(t), eui(), eui())
			update(t, s, func(tx store.Tx) error {
				noErr(t, "CreateIntent", tx.CreateIntent(intent(c.Serial, c.UserID)))
				return tx.PutCertificate(c)
			})
			read := make(chan struct{})
			var once sync.Once
			var readerEnd time.Time
			var wg sync.WaitGroup
			wg.Go(func() {
				noErr(t, "reader", s.Update(ctx, func(tx store.Tx) error {
					if ahead {
						if err := store.Prefetch(tx, store.ReadAhead{Certificates: []string{c.Serial}}); err != nil {
							return err
						}
					}
					got, err := tx.GetCertificate(c.Serial)
					if err != nil {
						return err
					}
					if got.Status != store.StatusGood {
						return nil // rerun after the revocation: nothing to hold
					}
					once.Do(func() { close(read) })
					time.Sleep(300 * time.Millisecond)
					readerEnd = time.Now()
					return tx.PutMeta("read-"+c.Serial, []byte("good"))
				}))
			})
			<-read
			err := s.Urgent(ctx, func(tx store.Tx) error {
				_, err := tx.Revoke(c.Serial, 1, base)
				return err
			})
			revoked := time.Now()
			noErr(t, "Urgent revoke", err)
			wg.Wait()
			if revoked.Before(readerEnd) {
				t.Fatalf("the revocation committed %v before the Update that read the certificate good returned from its function",
					readerEnd.Sub(revoked))
			}
		})
	}
}

// testRevocationNotStarvedByReaders: Updates that read a certificate may
// hold a revocation off until they commit (RevocationWaitsForReader), but
// a stream of them, overlapping without a gap, must not hold it off for
// longer than the ones already running when it asks: revocation, the
// core job, is never starved by issuance. Readers in eight goroutines
// each hold their transaction open 40 ms, for 4 s; a revocation asked for
// half a second in must commit within 2 s (it waits for the readers it
// found: on PostgreSQL a new FOR SHARE of the revocation counter queues
// behind a revocation waiting to update it, and bbolt's urgent lane goes
// after the group commit in progress; a starved one waits 3.5 s).
func testRevocationNotStarvedByReaders(t *testing.T, s store.Store) {
	ctx := context.Background()
	x, y := cert(randSerial(t), eui(), eui()), cert(randSerial(t), eui(), eui())
	update(t, s, func(tx store.Tx) error {
		for _, c := range []store.Certificate{x, y} {
			noErr(t, "CreateIntent", tx.CreateIntent(intent(c.Serial, c.UserID)))
			if err := tx.PutCertificate(c); err != nil {
				return err
			}
		}
		return nil
	})
	stop := time.Now().Add(4 * time.Second)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			time.Sleep(time.Duration(g) * 12 * time.Millisecond)
			for i := 0; time.Now().Before(stop); i++ {
				err := s.Update(ctx, func(tx store.Tx) error {
					if _, err := tx.GetCertificate(x.Serial); err != nil {
						return err
					}
					time.Sleep(40 * time.Millisecond)
					return tx.PutMeta(fmt.Sprintf("reader-%d-%d", g, i), []byte("x"))
				})
				if err != nil {
					t.Errorf("reader %d: %v", g, err)
					return
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	asked := time.Now()
	err := s.Urgent(ctx, func(tx store.Tx) error {
		_, err := tx.Revoke(y.Serial, 1, base)
		return err
	})
	took := time.Since(asked)
	readersLeft := time.Until(stop)
	wg.Wait()
	noErr(t, "Urgent revoke", err)
	if took > 2*time.Second {
		t.Fatalf("the revocation took %v under a stream of readers (they went on %v after it): starved", took.Round(time.Millisecond), readersLeft.Round(time.Millisecond))
	}
	t.Logf("the revocation took %v under a stream of readers", took.Round(time.Millisecond))
}
