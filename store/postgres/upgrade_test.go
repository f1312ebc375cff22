package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/store"
)

// TestUpgradeAddsOfficerExpiry: a database made by the first schema
// version, holding an officer, opens under this version: migration 0002
// is applied once and the officer reads back unchanged, with no recorded
// credential expiry.
func TestUpgradeAddsOfficerExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := schemaURL(t)
	s := openURL(t, u) // every migration applied
	_ = s.Close()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Back to schema version 0001, with an officer written by it.
	for _, q := range []string{
		"ALTER TABLE officers DROP COLUMN cert_not_after",
		"DELETE FROM schema_migrations WHERE version = '0002_officer_cert_not_after'",
		`INSERT INTO officers (id, name, party_id, kind, cert_serial, status, created_at, appointed_by)
			VALUES ('old-sro', 'Old', '', 'ra-operator', 'ab12', 'active', '2026-01-02T03:04:05.000000000Z', 'system:bootstrap')`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	up := openURL(t, u)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version = '0002_officer_cert_not_after'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("migration 0002 recorded %d times: %v", n, err)
	}
	err = up.View(ctx, func(tx store.Tx) error {
		o, err := tx.GetOfficer("old-sro")
		if err != nil {
			return err
		}
		if o.CertSerial != "ab12" || o.Status != "active" || o.AppointedBy != "system:bootstrap" || !o.CertNotAfter.IsZero() {
			t.Errorf("officer after the upgrade: %+v", o)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
