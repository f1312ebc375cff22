package postgres_test

import (
	"context"
	"fmt"
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

// TestUpgradeNumbersIssuedCertificates: certificates written before the
// issuance sequence existed (schema 0002) get numbers in (issued_at,
// serial) order, and the next certificate carries on after them.
func TestUpgradeNumbersIssuedCertificates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := schemaURL(t)
	s := openURL(t, u)
	_ = s.Close()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	qs := []string{
		"DROP INDEX certificates_issuance", "DROP INDEX certificates_role",
		"ALTER TABLE certificates DROP COLUMN issuance_seq",
		"DELETE FROM counters WHERE name = 'issuance'",
		"DELETE FROM schema_migrations WHERE version = '0003_issuance_seq'",
	}
	// Issue order (03, 02, 01) is not serial order.
	for i, serial := range []string{"03", "02", "01"} {
		qs = append(qs, "INSERT INTO serials (serial) VALUES ('"+serial+"')",
			`INSERT INTO certificates (serial, issuer, user_id, party_id, profile, role, key_hash, not_before, not_after,
				issued_at, der, status, revoked_at, reason, revocation_seq) VALUES ('`+serial+`', 'issuing-ca', '', '', 'p', 'SC', '',
				'2026-01-01T00:00:00.000000000Z', '2027-01-01T00:00:00.000000000Z', '2026-01-0`+string(rune('1'+i))+`T00:00:00.000000000Z',
				'\x01', 'good', '0001-01-01T00:00:00.000000000Z', 0, 0)`)
	}
	for _, q := range qs {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	up := openURL(t, u)
	err = up.Update(ctx, func(tx store.Tx) error {
		return tx.PutCertificate(store.Certificate{Serial: "04", Issuer: "issuing-ca", Profile: "p", DER: []byte{1}})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = up.View(ctx, func(tx store.Tx) error {
		all, err := tx.CertificatesIssuedSince(0, 0)
		if err != nil {
			return err
		}
		var got []string
		for _, c := range all {
			got = append(got, fmt.Sprintf("%s:%d", c.Serial, c.IssuanceSeq))
		}
		if want := "[03:1 02:2 01:3 04:4]"; fmt.Sprint(got) != want {
			t.Errorf("after the upgrade: %v, want %s", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
