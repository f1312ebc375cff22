package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/migrate"
	"github.com/smki/smki/store/postgres"
)

var base = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("BST", 3600))

func openBolt(t *testing.T) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openPG(t *testing.T) store.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.SchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fill writes n certificates (every third revoked) with a 700-byte DER,
// as smki's are, their intents, and an audit entry per write, with
// nanosecond times in a non-UTC zone; 5,000 certificates a transaction.
func fill(t testing.TB, st store.Store, n int) {
	t.Helper()
	for start := 0; start == 0 || start < n; start += 5000 {
		err := st.Update(context.Background(), func(tx store.Tx) error {
			if start == 0 {
				if err := tx.CreateParty(store.Party{ID: "90-B3-D5-1F-00-00-00-01", Name: "p", Status: "active", CreatedAt: base}); err != nil {
					return err
				}
			}
			for i := start; i < min(n, start+5000); i++ {
				serial := fmt.Sprintf("%032x", i+1)
				at := base.Add(time.Duration(i) * time.Nanosecond)
				if err := tx.CreateIntent(store.Intent{Serial: serial, Issuer: "issuing-ca", Profile: "xml-signing",
					UserID: "u", CreatedAt: at, State: store.IntentOpen}); err != nil {
					return err
				}
				der := append([]byte(serial), make([]byte, 700-len(serial))...)
				if err := tx.PutCertificate(store.Certificate{Serial: serial, Issuer: "issuing-ca", UserID: "u",
					PartyID: "90-B3-D5-1F-00-00-00-01", Profile: "xml-signing", Role: "SC", KeyHash: fmt.Sprintf("k%d", i),
					NotBefore: at, NotAfter: at.AddDate(1, 0, 0), IssuedAt: at, DER: der}); err != nil {
					return err
				}
				if err := tx.SetIntentState(serial, store.IntentCompleted); err != nil {
					return err
				}
				if i%3 == 0 {
					if _, err := tx.Revoke(serial, 5, at); err != nil {
						return err
					}
				}
				if _, err := tx.AppendAudit(store.AuditEntry{Time: at, Actor: "t", Action: "issue", Subject: serial}); err != nil {
					return err
				}
			}
			if start+5000 < n {
				return nil
			}
			if err := tx.PutRecord("device", "d1", []byte("x")); err != nil {
				return err
			}
			return tx.PutCRL(store.CRL{Name: "orl", Number: 3, ThisUpdate: base, NextUpdate: base.Add(time.Hour), DER: []byte("c")})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRoundTripAcrossEngines: bbolt -> PostgreSQL -> bbolt keeps every
// digest equal, the copies keep counting where the source stopped, and a
// non-empty destination is refused without a write.
func TestRoundTripAcrossEngines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := openPG(t)
	a, c := openBolt(t), openBolt(t)
	fill(t, a, 300)
	if err := migrate.Copy(ctx, a, pg); err != nil {
		t.Fatal(err)
	}
	if err := migrate.Copy(ctx, pg, c); err != nil {
		t.Fatal(err)
	}
	da, _ := migrate.Digest(ctx, a)
	dp, _ := migrate.Digest(ctx, pg)
	dc, err := migrate.Digest(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Compare(da, dp); err != nil {
		t.Fatalf("bbolt -> postgres: %v", err)
	}
	if err := migrate.Compare(da, dc); err != nil {
		t.Fatalf("postgres -> bbolt: %v", err)
	}
	if da[2].Type != "certificates" || da[2].Count != 300 || da[3].Count != 100 || da[9].Count != 300 {
		t.Fatalf("digest counts: %+v", da)
	}
	if err := migrate.Copy(ctx, a, pg); !errors.Is(err, migrate.ErrNotEmpty) {
		t.Fatalf("Copy into a non-empty store: %v", err)
	}
	for name, st := range map[string]store.Store{"postgres": pg, "bbolt": c} {
		err := st.Update(ctx, func(tx store.Tx) error {
			r, err := tx.Revoke(fmt.Sprintf("%032x", 2), 1, base)
			if err != nil || r.Seq != 101 {
				return fmt.Errorf("revoke in the copy: seq %d, %v", r.Seq, err)
			}
			_, err = tx.AppendAudit(store.AuditEntry{Time: base, Action: "after"})
			return err
		})
		if err == nil {
			err = st.SealAudit(ctx)
		}
		if err == nil {
			err = st.View(ctx, func(tx store.Tx) error {
				all, err := tx.AuditEntries(1, 0)
				if err != nil {
					return err
				}
				if len(all) != 301 || all[300].Action != "after" {
					return fmt.Errorf("audit in the copy: %d entries, want 301", len(all))
				}
				_, err = store.VerifyChain(nil, 1, all)
				return err
			})
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestCopyToNewBolt: a copy into a new bbolt file (smki store migrate's
// path, in bounded batches) holds what the source holds; it never
// replaces a file already at the path; and a copy that fails part way
// leaves nothing: no file at the path, no temporary file beside it.
func TestCopyToNewBolt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := openBolt(t)
	fill(t, src, 300)
	dir := t.TempDir()

	path := filepath.Join(dir, "copy.db")
	if err := migrate.CopyToNewBolt(ctx, src, path); err != nil {
		t.Fatal(err)
	}
	dst, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := migrate.Digest(ctx, src)
	dd, err := migrate.Digest(ctx, dst)
	dst.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Compare(ds, dd); err != nil {
		t.Fatalf("the copy differs from its source: %v", err)
	}

	if err := migrate.CopyToNewBolt(ctx, src, path); !errors.Is(err, migrate.ErrNotEmpty) {
		t.Errorf("CopyToNewBolt onto an existing file = %v, want ErrNotEmpty", err)
	}

	failed := filepath.Join(dir, "failed.db")
	if err := migrate.CopyToNewBolt(ctx, pagedStore{Store: src, max: 10}, failed); err == nil {
		t.Fatal("CopyToNewBolt from a source that fails part way succeeded")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	hidden, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if got := append(left, hidden...); len(got) != 2 || !slices.Contains(got, path) || !slices.Contains(got, path+".audit") {
		t.Errorf("after a failed copy the directory holds %v, want only %s and its journal", got, path)
	}
}
