package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/store"
)

// TestReadOnly: a read-only store reads what the RA's store wrote, and
// refuses every write: its own write calls, a write inside View, and a
// write PostgreSQL sees (the session is read-only). A database without
// the schema is refused.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	url := pgtest.SchemaURL(t)
	ctx := context.Background()
	if _, err := OpenReadOnly(ctx, url); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("an empty schema: %v, want E_STORE_INVALID", err)
	}
	rw, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	now := time.Now().UTC().Truncate(time.Second)
	c := store.Certificate{Serial: "1a2b", Issuer: "issuing-ca", Profile: "xml-signing", NotBefore: now, NotAfter: now.Add(time.Hour),
		IssuedAt: now, DER: []byte{0x30, 0}, Status: store.StatusGood}
	if err := rw.Update(ctx, func(tx store.Tx) error { return tx.PutCertificate(c) }); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	err = ro.View(ctx, func(tx store.Tx) error {
		got, err := tx.GetCertificate("1a2b")
		if err == nil && got.Serial != "1a2b" {
			t.Errorf("read %+v", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	put := func(tx store.Tx) error { return tx.PutMeta("x", []byte("y")) }
	for name, err := range map[string]error{
		"Update": ro.Update(ctx, put), "Urgent": ro.Urgent(ctx, put), "SealAudit": ro.SealAudit(ctx),
		"Audit":   ro.Audit(ctx, store.AuditEntry{Actor: "a", Action: "b", Subject: "c", Result: "allowed", Time: now}),
		"in View": ro.View(ctx, put),
	} {
		if !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("%s: %v, want E_STORE_READ_ONLY", name, err)
		}
	}
	// The session itself is read-only: PostgreSQL refuses a write.
	if _, err := ro.s.pool.Exec(ctx, "CREATE TABLE smki_ro_probe (x int)"); err == nil {
		t.Error("a read-only session created a table")
	}
	if err := rw.View(ctx, func(tx store.Tx) error {
		_, err := tx.GetMeta("x")
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("meta x: %v, want not found", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
