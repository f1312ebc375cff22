package postgres_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
	"github.com/smki/smki/store/storetest"
)

// schemaURL is a fresh schema per test (internal/pgtest): it skips without
// a reachable server, or fails when SMKI_REQUIRE_POSTGRES=1.
func schemaURL(t testing.TB) string { return pgtest.SchemaURL(t) }

func openURL(t testing.TB, u string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func open(t *testing.T) store.Store { return openURL(t, schemaURL(t)) }

func TestConformance(t *testing.T) {
	t.Parallel()
	schemaURL(t) // skip the whole suite at once when there is no server
	storetest.Run(t, open)
}

// TestRevokeManyBatches runs the RevokeMany conformance tests with three
// serials per statement, so that lists span several batches and a refusal
// in a later batch must undo the earlier ones (the savepoint path).
func TestRevokeManyBatches(t *testing.T) {
	t.Parallel()
	schemaURL(t)
	storetest.RunRevokeMany(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), schemaURL(t), postgres.WithRevokeBatch(3))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// TestConcurrentOpenMigratesOnce starts several instances on one empty
// schema at once: the advisory lock lets exactly one apply each migration.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	u := schemaURL(t)
	var wg sync.WaitGroup
	stores := make([]*postgres.Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(context.Background(), u)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	if n != len(files) {
		t.Fatalf("schema_migrations has %d rows, want one per migration file (%d)", n, len(files))
	}
	// All instances share the counters: a revocation through one is seen
	// by another.
	err = stores[0].Update(context.Background(), func(tx store.Tx) error {
		return tx.PutMeta("k", []byte("v"))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = stores[3].View(context.Background(), func(tx store.Tx) error {
		v, err := tx.GetMeta("k")
		if err != nil || string(v) != "v" {
			t.Fatalf("GetMeta through another instance = %q, %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTryAdvisoryLock(t *testing.T) {
	t.Parallel()
	u := schemaURL(t)
	a, b := openURL(t, u), openURL(t, u)
	ctx := context.Background()
	// A key of our own, so parallel tests on this database don't collide.
	var kb [8]byte
	rand.Read(kb[:])
	key := int64(kb[0])<<56 | int64(kb[1])<<48 | int64(kb[2])<<40 | int64(kb[3])<<32 | int64(kb[4])<<24 | int64(kb[5])<<16 | int64(kb[6])<<8 | int64(kb[7])

	release, ok, err := a.TryAdvisoryLock(ctx, key)
	if err != nil || !ok {
		t.Fatalf("first TryAdvisoryLock = %v, %v", ok, err)
	}
	if _, ok, err := b.TryAdvisoryLock(ctx, key); err != nil || ok {
		t.Fatalf("TryAdvisoryLock while held by another instance = %v, %v; want false", ok, err)
	}
	// Session locks are re-entrant per session, but each call takes its
	// own pooled connection, so the same instance is refused too.
	if _, ok, err := a.TryAdvisoryLock(ctx, key); err != nil || ok {
		t.Fatalf("TryAdvisoryLock while held by this instance = %v, %v; want false", ok, err)
	}
	release()
	release() // idempotent
	release2, ok, err := b.TryAdvisoryLock(ctx, key)
	if err != nil || !ok {
		t.Fatalf("TryAdvisoryLock after release = %v, %v", ok, err)
	}
	release2()
}
