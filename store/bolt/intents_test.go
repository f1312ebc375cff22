package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// TestCompletedIntentsLiveByIssuanceSequence: a completed intent whose
// certificate is recorded leaves the intents bucket for intents_done,
// under the certificate's issuance sequence number, and every read finds
// it there as before: GetIntent, Intents (merged in serial order, paged)
// and OpenIntents (which never sees it). An intent completed with no
// certificate, a failed one and an open one stay in the intents bucket. A
// file of layout 2 (a completed intent left in the intents bucket) reads
// the same, and an intent in both places is reported corrupt.
func TestCompletedIntentsLiveByIssuanceSequence(t *testing.T) {
	t.Parallel()
	s, path := openNew(t)
	ctx, at := context.Background(), intentsAt
	var err error
	want := map[string]store.IntentState{
		"01": store.IntentCompleted, // recorded (store.RecordIssued)
		"02": store.IntentOpen,
		"03": store.IntentCompleted, // recorded
		"04": store.IntentFailed,
		"05": store.IntentCompleted, // completed with no certificate
		"06": store.IntentCompleted, // certificate put, then completed (as reconciliation does)
		"07": store.IntentCompleted, // recorded
	}
	serials := slices.Sorted(func(yield func(string) bool) {
		for s := range want {
			if !yield(s) {
				return
			}
		}
	})
	intent := func(sn string) store.Intent {
		return store.Intent{Serial: sn, Issuer: "issuing-ca", Profile: "xml-signing", UserID: "U-" + sn,
			LintDER: []byte("lint " + sn), CreatedAt: at}
	}
	cert := func(sn string) store.Certificate {
		return store.Certificate{Serial: sn, Issuer: "issuing-ca", UserID: "U-" + sn, PartyID: "P", KeyHash: "k" + sn,
			NotBefore: at, NotAfter: at.AddDate(1, 0, 0), IssuedAt: at, DER: []byte("der " + sn)}
	}
	// Two transactions, as an issuance's intent and record are.
	err = s.Update(ctx, func(tx store.Tx) error {
		for _, sn := range serials {
			if err := tx.CreateIntent(intent(sn)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		errs, err := store.RecordIssued(tx, []store.Certificate{cert("07"), cert("01"), cert("03")})
		if err != nil {
			return err
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if err := tx.SetIntentState("04", store.IntentFailed); err != nil {
			return err
		}
		if err := tx.SetIntentState("05", store.IntentCompleted); err != nil {
			return err
		}
		if err := tx.PutCertificate(cert("06")); err != nil {
			return err
		}
		return tx.SetIntentState("06", store.IntentCompleted)
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		err := s.View(ctx, func(tx store.Tx) error {
			ex := tx.(store.Exporter)
			for _, sn := range serials {
				in, err := tx.GetIntent(sn)
				if err != nil {
					return fmt.Errorf("GetIntent(%s): %w", sn, err)
				}
				if in.Serial != sn || in.State != want[sn] || string(in.LintDER) != "lint "+sn || in.UserID != "U-"+sn || !in.CreatedAt.Equal(at) {
					t.Errorf("%s: GetIntent(%s) = %+v, want state %s and the intent as created", stage, sn, in, want[sn])
				}
			}
			if _, err := tx.GetIntent("08"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: GetIntent of no intent = %v, want ErrNotFound", stage, err)
			}
			all, err := ex.Intents("", 0)
			if err != nil {
				return err
			}
			if g := intentSerials(all); !slices.Equal(g, serials) {
				t.Errorf("%s: Intents = %v, want %v", stage, g, serials)
			}
			for i, in := range all {
				if in.State != want[in.Serial] || string(in.LintDER) != "lint "+in.Serial {
					t.Errorf("%s: Intents[%d] = %+v, want state %s", stage, i, in, want[in.Serial])
				}
			}
			var paged []string
			for after := ""; ; {
				page, err := ex.Intents(after, 2)
				if err != nil {
					return err
				}
				if len(page) == 0 {
					break
				}
				paged = append(paged, intentSerials(page)...)
				after = page[len(page)-1].Serial
			}
			if !slices.Equal(paged, serials) {
				t.Errorf("%s: Intents in pages of 2 = %v, want %v", stage, paged, serials)
			}
			if from, err := ex.Intents("03", 0); err != nil || !slices.Equal(intentSerials(from), serials[3:]) {
				t.Errorf("%s: Intents after 03 = %v, %v, want %v", stage, intentSerials(from), err, serials[3:])
			}
			open, err := tx.OpenIntents()
			if err != nil || !slices.Equal(intentSerials(open), []string{"02"}) {
				t.Errorf("%s: OpenIntents = %v, %v, want [02]", stage, intentSerials(open), err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
	}
	check("layout 3")
	// Out of intents_done and back: 06 failed, then completed again.
	for _, st := range []store.IntentState{store.IntentFailed, store.IntentCompleted} {
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetIntentState("06", st) }); err != nil {
			t.Fatal(err)
		}
		want["06"] = st
		check("06 " + string(st))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Where each intent is in the file: the recorded ones (01, 03, 06,
	// 07) under their certificates' issuance sequence numbers 2, 3, 4 and
	// 1 (07 was recorded first), the rest by serial.
	inBuckets := func() (intents []string, done map[uint64]string) {
		t.Helper()
		done = map[uint64]string{}
		rawDB(t, path, func(btx *bbolt.Tx) error {
			btx.Bucket([]byte("intents")).ForEach(func(k, _ []byte) error {
				intents = append(intents, string(k))
				return nil
			})
			return btx.Bucket([]byte("intents_done")).ForEach(func(k, v []byte) error {
				var in store.Intent
				if err := bolt.DecodeRecord(v, &in); err != nil {
					return err
				}
				done[bolt.SeqFromKey(k)] = in.Serial
				return nil
			})
		})
		return intents, done
	}
	intents, done := inBuckets()
	if !slices.Equal(intents, []string{"02", "04", "05"}) {
		t.Errorf("intents bucket holds %v, want [02 04 05]", intents)
	}
	if w := map[uint64]string{1: "07", 2: "01", 3: "03", 4: "06"}; fmt.Sprint(done) != fmt.Sprint(w) {
		t.Errorf("intents_done holds %v, want %v", done, w)
	}

	// A layout-2 file: 03's completed intent in the intents bucket.
	rawDB(t, path, func(btx *bbolt.Tx) error {
		d := btx.Bucket([]byte("intents_done"))
		v := d.Get(bolt.SeqKey(3))
		if err := btx.Bucket([]byte("intents")).Put([]byte("03"), v); err != nil {
			return err
		}
		return d.Delete(bolt.SeqKey(3))
	})
	if s, err = bolt.Open(path, bolt.WithIntentMoveBatch(0)); err != nil { // kept where it is
		t.Fatal(err)
	}
	check("completed intent in the intents bucket")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The same intent in both places.
	rawDB(t, path, func(btx *bbolt.Tx) error {
		return btx.Bucket([]byte("intents_done")).Put(bolt.SeqKey(3), btx.Bucket([]byte("intents")).Get([]byte("03")))
	})
	corrupt := func(what string, read func(store.Tx) error) {
		t.Helper()
		if s, err = bolt.Open(path); err != nil { // moves nothing it would find twice
			t.Fatal(err)
		}
		err = s.View(ctx, read)
		if !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("%s = %v, want ErrCorrupt", what, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	export := func(tx store.Tx) error {
		_, err := tx.(store.Exporter).Intents("", 0)
		return err
	}
	corrupt("Intents with an intent in both buckets", export)

	// 01's place in intents_done holding 07's intent.
	rawDB(t, path, func(btx *bbolt.Tx) error {
		if err := btx.Bucket([]byte("intents")).Delete([]byte("03")); err != nil {
			return err
		}
		d := btx.Bucket([]byte("intents_done"))
		return d.Put(bolt.SeqKey(2), d.Get(bolt.SeqKey(1)))
	})
	corrupt("Intents with another serial's intent at a certificate's place", export)
	corrupt("GetIntent of that certificate's serial", func(tx store.Tx) error {
		_, err := tx.GetIntent("01")
		return err
	})
}

func intentSerials(ins []store.Intent) []string {
	var out []string
	for _, in := range ins {
		out = append(out, in.Serial)
	}
	return out
}

// intentsAt is the intents' and certificates' time in these tests.
var intentsAt = time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)

// openNew opens a new store file, and returns it and its path.
func openNew(t *testing.T) (*bolt.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "smki.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

// rawDB runs fn in a bbolt write transaction on the closed store file at
// path.
func rawDB(t *testing.T, path string, fn func(*bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// TestCompletedIntentOfUnnumberedCertificate: a certificate with no
// issuance number (written behind the store's back; Open numbers them
// only in a file that has none) has no place in intents_done, so its
// intent is completed where it is, in the intents bucket, and read
// back from there.
func TestCompletedIntentOfUnnumberedCertificate(t *testing.T) {
	t.Parallel()
	s, path := openNew(t)
	ctx, at := context.Background(), intentsAt
	var err error
	in := store.Intent{Serial: "0a", Issuer: "issuing-ca", LintDER: []byte("lint"), CreatedAt: at}
	c := store.Certificate{Serial: "0b", Issuer: "issuing-ca", DER: []byte("der")}
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateIntent(in); err != nil {
			return err
		}
		return tx.PutCertificate(c) // numbers the file's issuance counter
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	rawDB(t, path, func(btx *bbolt.Tx) error {
		c.Serial = "0a"
		v, err := bolt.EncodeRecord(c) // IssuanceSeq 0
		if err != nil {
			return err
		}
		return btx.Bucket([]byte("certs")).Put([]byte("0a"), v)
	})
	if s, err = bolt.Open(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetIntentState("0a", store.IntentCompleted) }); err != nil {
		t.Fatalf("SetIntentState(completed): %v", err)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		got, err := tx.GetIntent("0a")
		if err != nil || got.State != store.IntentCompleted || string(got.LintDER) != "lint" {
			t.Errorf("GetIntent = %+v, %v, want the intent, completed", got, err)
		}
		all, err := tx.(store.Exporter).Intents("", 0)
		if err != nil || len(all) != 1 || all[0].State != store.IntentCompleted {
			t.Errorf("Intents = %+v, %v, want the one intent, completed", all, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpenMovesCompletedIntents: Open moves the completed intents a file
// keeps in the intents bucket (layout 2, or a store/migrate copy) to
// intents_done, in transactions of the batch size, leaving the open and
// failed ones and a completed one without a certificate; every read
// answers as before, and a second Open finds nothing to move.
func TestOpenMovesCompletedIntents(t *testing.T) {
	t.Parallel()
	s, path := openNew(t)
	ctx, at := context.Background(), intentsAt
	var err error
	var serials, recorded []string
	for i := range 23 {
		serials = append(serials, fmt.Sprintf("%02x", i+1))
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		for _, sn := range serials {
			if err := tx.CreateIntent(store.Intent{Serial: sn, Issuer: "issuing-ca", LintDER: []byte("lint " + sn), CreatedAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		var certs []store.Certificate
		for _, sn := range serials[:20] {
			certs = append(certs, store.Certificate{Serial: sn, Issuer: "issuing-ca", DER: []byte("der " + sn)})
			recorded = append(recorded, sn)
		}
		if _, err := store.RecordIssued(tx, certs); err != nil {
			return err
		}
		if err := tx.SetIntentState(serials[20], store.IntentFailed); err != nil {
			return err
		}
		return tx.SetIntentState(serials[21], store.IntentCompleted) // no certificate
	})
	if err != nil {
		t.Fatal(err)
	}
	before, err := exportIntents(s)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// As a layout-2 file has them: every completed intent in intents.
	rawDB(t, path, func(btx *bbolt.Tx) error {
		done, intents := btx.Bucket([]byte("intents_done")), btx.Bucket([]byte("intents"))
		var keys [][]byte
		done.ForEach(func(k, v []byte) error {
			var in store.Intent
			if err := bolt.DecodeRecord(v, &in); err != nil {
				return err
			}
			keys = append(keys, append([]byte(nil), k...))
			return intents.Put([]byte(in.Serial), v)
		})
		for _, k := range keys {
			if err := done.Delete(k); err != nil {
				return err
			}
		}
		return btx.Bucket([]byte("state")).Put([]byte("layout"), []byte{2})
	})
	for range 2 {
		if s, err = bolt.Open(path, bolt.WithIntentMoveBatch(3)); err != nil {
			t.Fatal(err)
		}
		after, err := exportIntents(s)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("intents after the move:\n%+v\nwant\n%+v", after, before)
		}
		s.Close()
		var inIntents []string
		var inDone int
		rawDB(t, path, func(btx *bbolt.Tx) error {
			btx.Bucket([]byte("intents")).ForEach(func(k, _ []byte) error {
				inIntents = append(inIntents, string(k))
				return nil
			})
			inDone = btx.Bucket([]byte("intents_done")).Stats().KeyN
			return nil
		})
		if want := serials[20:]; !slices.Equal(inIntents, want) || inDone != len(recorded) {
			t.Fatalf("intents bucket %v and %d in intents_done, want %v and %d", inIntents, inDone, want, len(recorded))
		}
	}
}

// exportIntents is every intent s holds, as its export lists them.
func exportIntents(s *bolt.Store) ([]store.Intent, error) {
	var out []store.Intent
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.(store.Exporter).Intents("", 0)
		return err
	})
	return out, err
}
