package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
)

// TestUpgradeAddsOfficerExpiry: a database made by the first schema
// version, holding an officer, opens under this version: migration 0002
// is applied once and the officer reads back unchanged, with no recorded
// credential expiry.
func TestUpgradeAddsOfficerExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := schemaURL(t)
	conn := migratedConn(t, u) // every migration applied
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
	err := up.View(ctx, func(tx store.Tx) error {
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
	conn := migratedConn(t, u)     // every migration applied
	qs := append(schemaBefore0006, // and before 0003:
		"DROP INDEX certificates_issuance", "DROP INDEX certificates_role",
		"ALTER TABLE certificates DROP COLUMN issuance_seq",
		"DELETE FROM counters WHERE name = 'issuance'",
		"DELETE FROM schema_migrations WHERE version = '0003_issuance_seq'",
	)
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
	err := up.Update(ctx, func(tx store.Tx) error {
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

// schemaBefore0008 takes a fully migrated, empty schema back to before
// migration 0008: intents and certificates with foreign keys to serials,
// and the index on role.
var schemaBefore0008 = []string{
	"ALTER TABLE intents ADD CONSTRAINT intents_serial_fkey FOREIGN KEY (serial) REFERENCES serials",
	"ALTER TABLE certificates ADD CONSTRAINT certificates_serial_fkey FOREIGN KEY (serial) REFERENCES serials",
	"CREATE INDEX certificates_role ON certificates (role, serial)",
	"DELETE FROM schema_migrations WHERE version = '0008_issuance_writes'",
	schemaBefore0009[0], schemaBefore0009[1],
}

// schemaBefore0009 takes a fully migrated, empty schema back to before
// migration 0009: the index on certificates' key hash.
var schemaBefore0009 = []string{
	"CREATE INDEX certificates_key ON certificates (key_hash, serial)",
	"DELETE FROM schema_migrations WHERE version = '0009_key_index'",
}

// schemaBefore0007 takes a fully migrated, empty schema back to before
// migration 0007: revocations with their certificate's issuer, user and
// party, and a foreign key to it.
var schemaBefore0007 = append(append([]string(nil), schemaBefore0008...),
	`ALTER TABLE revocations ADD COLUMN issuer text NOT NULL, ADD COLUMN user_id text NOT NULL,
		ADD COLUMN party_id text NOT NULL, ADD FOREIGN KEY (serial) REFERENCES certificates`,
	"ALTER TABLE crls ALTER COLUMN der SET STORAGE EXTENDED",
	"DELETE FROM schema_migrations WHERE version = '0007_revocation_narrow'",
)

// schemaBefore0006 takes a fully migrated, empty schema back to before
// migration 0006: the certificates' own revocation columns and status
// index.
var schemaBefore0006 = append(append([]string(nil), schemaBefore0007...),
	`ALTER TABLE certificates ADD COLUMN status text NOT NULL CHECK (status IN ('good', 'revoked')),
		ADD COLUMN revoked_at text NOT NULL, ADD COLUMN reason int NOT NULL, ADD COLUMN revocation_seq bigint NOT NULL`,
	"CREATE INDEX certificates_status ON certificates (status, serial)",
	"DELETE FROM schema_migrations WHERE version = '0006_revocation_state'",
)

// oldSchemaOneRevoked gives the test a fully migrated schema taken back by
// the statements back, holding certificates 01 and 02 (issuing-ca, user
// U, party P; the old schema's extra columns cols, each certificate's
// values for them from vals, with a leading comma) and revocation 1 of
// 01 (reason 5, 2026-02-01) with party revParty in its copy of the
// certificate's fields. It returns the schema's URL and a connection to
// it, closed at cleanup.
func oldSchemaOneRevoked(t *testing.T, back []string, cols string, vals func(i int) string, revParty string) (string, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	u := schemaURL(t)
	conn := migratedConn(t, u)
	qs := append([]string(nil), back...)
	for i := range 2 {
		serial := fmt.Sprintf("0%d", i+1)
		qs = append(qs, "INSERT INTO serials (serial) VALUES ('"+serial+"')",
			`INSERT INTO certificates (serial, issuer, user_id, party_id, profile, role, key_hash, not_before, not_after,
				issued_at, der, issuance_seq`+cols+`) VALUES ('`+serial+`', 'issuing-ca', 'U', 'P', 'p', 'SC', '',
				'2026-01-01T00:00:00.000000000Z', '2027-01-01T00:00:00.000000000Z', '2026-01-01T00:00:00.000000000Z', '\x01', `+fmt.Sprint(i+1)+vals(i)+`)`)
	}
	qs = append(qs, `INSERT INTO revocations (seq, serial, issuer, user_id, party_id, reason, revoked_at)
		VALUES (1, '01', 'issuing-ca', 'U', '`+revParty+`', 5, '2026-02-01T00:00:00.000000000Z')`,
		"UPDATE counters SET value = 1 WHERE name = 'revocation'", "UPDATE counters SET value = 2 WHERE name = 'issuance'")
	for _, q := range qs {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return u, conn
}

// TestUpgradeKeepsRevocations: certificates revoked under schema 0005
// (revocation state in both the certificate's row and revocations) read
// back as they were after migration 0006, the good one stays good and
// can be revoked; a database whose two copies disagree is refused, with
// nothing dropped.
func TestUpgradeKeepsRevocations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		certState string // the revoked certificate's own columns
		wantErr   bool
	}{
		{"consistent", "'revoked', '2026-02-01T00:00:00.000000000Z', 5, 1", false},
		{"certificate says good", "'good', '0001-01-01T00:00:00.000000000Z', 0, 0", true},
		{"reason differs", "'revoked', '2026-02-01T00:00:00.000000000Z', 4, 1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			states := []string{tc.certState, "'good', '0001-01-01T00:00:00.000000000Z', 0, 0"}
			u, conn := oldSchemaOneRevoked(t, schemaBefore0006, ", status, revoked_at, reason, revocation_seq",
				func(i int) string { return ", " + states[i] }, "P")
			up, err := postgres.Open(ctx, u)
			if tc.wantErr {
				if err == nil {
					up.Close()
					t.Fatal("migration 0006 accepted certificates and revocations that disagree")
				}
				var n int
				if err := conn.QueryRow(ctx, "SELECT count(*) FROM certificates WHERE status = 'revoked' OR status = 'good'").Scan(&n); err != nil || n != 2 {
					t.Fatalf("after the refused migration: %d certificates with a status column: %v", n, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer up.Close()
			err = up.Update(ctx, func(tx store.Tx) error {
				c, err := tx.GetCertificate("01")
				if err != nil {
					return err
				}
				want := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
				if c.Status != store.StatusRevoked || c.Reason != 5 || c.RevocationSeq != 1 || !c.RevokedAt.Equal(want) {
					t.Errorf("revoked certificate after the upgrade: %+v", c)
				}
				good, err := tx.ListCertificates(store.CertFilter{PartyID: "P", Status: store.StatusGood})
				if err != nil {
					return err
				}
				if len(good) != 1 || good[0].Serial != "02" {
					t.Errorf("good certificates after the upgrade: %+v", good)
				}
				r, err := tx.Revoke("02", 1, want)
				if err != nil {
					return err
				}
				if r.Seq != 2 {
					t.Errorf("next revocation numbered %d, want 2", r.Seq)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestUpgradeNarrowsRevocations: revocations written under schema 0006
// (with their certificate's issuer, user and party) read back the same
// after migration 0007 drops those columns, and the next revocation
// carries on after them; a revocation that disagrees with its
// certificate is refused, with nothing dropped.
func TestUpgradeNarrowsRevocations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		party   string // the revocation's copy of the certificate's party
		wantErr bool
	}{
		{"consistent", "P", false},
		{"party differs", "Q", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			u, conn := oldSchemaOneRevoked(t, schemaBefore0007, "", func(int) string { return "" }, tc.party)
			up, err := postgres.Open(ctx, u)
			if tc.wantErr {
				if err == nil {
					up.Close()
					t.Fatal("migration 0007 accepted a revocation that disagrees with its certificate")
				}
				var party string
				if err := conn.QueryRow(ctx, "SELECT party_id FROM revocations WHERE seq = 1").Scan(&party); err != nil || party != tc.party {
					t.Fatalf("after the refused migration: revocation party %q: %v", party, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer up.Close()
			want := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
			err = up.Update(ctx, func(tx store.Tx) error {
				c, err := tx.GetCertificate("01")
				if err != nil {
					return err
				}
				if c.Status != store.StatusRevoked || c.Reason != 5 || c.RevocationSeq != 1 || !c.RevokedAt.Equal(want) {
					t.Errorf("revoked certificate after the upgrade: %+v", c)
				}
				revs, err := tx.RevokeMany([]string{"02"}, 1, want)
				if err != nil {
					return err
				}
				if len(revs) != 1 || revs[0].Seq != 2 || revs[0].PartyID != "P" {
					t.Errorf("next revocation after the upgrade: %+v", revs)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			err = up.View(ctx, func(tx store.Tx) error {
				revs, err := tx.RevocationsSince(0, 0)
				if err != nil {
					return err
				}
				if len(revs) != 2 || revs[0] != (store.Revocation{Seq: 1, Serial: "01", Issuer: "issuing-ca", UserID: "U", PartyID: "P", Reason: 5, RevokedAt: want}) ||
					revs[1].Serial != "02" || revs[1].UserID != "U" {
					t.Errorf("revocations after the upgrade: %+v", revs)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestUpgradeDropsSerialKeys: an intent and a certificate written under
// schema 0007 (foreign keys to serials, an index on role) read back after
// migration 0008 drops the keys and the index; a database holding an
// intent without its serial is refused, with nothing dropped.
func TestUpgradeDropsSerialKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		orphan bool // an intent with no row in serials (the keys left off to write it)
	}{
		{"consistent", false},
		{"intent without its serial", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			u := schemaURL(t)
			conn := migratedConn(t, u)
			qs := append([]string(nil), schemaBefore0008...)
			if tc.orphan {
				qs = qs[2:] // the index and the version only
			}
			qs = append(qs, "INSERT INTO serials (serial) VALUES ('01')",
				`INSERT INTO intents (serial, issuer, profile, user_id, lint_der, created_at, state)
					VALUES ('01', 'issuing-ca', 'p', 'U', '\x01', '2026-01-01T00:00:00.000000000Z', 'completed')`,
				`INSERT INTO certificates (serial, issuer, user_id, party_id, profile, role, key_hash, not_before, not_after,
					issued_at, der, issuance_seq) VALUES ('01', 'issuing-ca', 'U', 'P', 'p', 'SC', '',
					'2026-01-01T00:00:00.000000000Z', '2027-01-01T00:00:00.000000000Z', '2026-01-01T00:00:00.000000000Z', '\x01', 1)`,
				"UPDATE counters SET value = 1 WHERE name = 'issuance'")
			if tc.orphan {
				qs = append(qs, `INSERT INTO intents (serial, issuer, profile, user_id, lint_der, created_at, state)
					VALUES ('02', 'issuing-ca', 'p', 'U', '\x01', '2026-01-01T00:00:00.000000000Z', 'open')`)
			}
			for _, q := range qs {
				if _, err := conn.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			var keys int
			var roleIndex bool
			state := func() {
				t.Helper()
				if err := conn.QueryRow(ctx, `SELECT
					(SELECT count(*) FROM pg_constraint WHERE conname IN ('intents_serial_fkey', 'certificates_serial_fkey')
						AND connamespace = current_schema()::regnamespace),
					to_regclass('certificates_role') IS NOT NULL`).Scan(&keys, &roleIndex); err != nil {
					t.Fatal(err)
				}
			}
			up, err := postgres.Open(ctx, u)
			if tc.orphan {
				if err == nil {
					up.Close()
					t.Fatal("migration 0008 accepted an intent without its serial")
				}
				if state(); !roleIndex {
					t.Fatal("the refused migration dropped the role index")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer up.Close()
			if state(); keys != 0 || roleIndex {
				t.Fatalf("after the upgrade: %d foreign keys to serials, role index %v", keys, roleIndex)
			}
			err = up.Update(ctx, func(tx store.Tx) error {
				in, err := tx.GetIntent("01")
				if err != nil || in.State != store.IntentCompleted {
					t.Errorf("intent after the upgrade: %+v, %v", in, err)
				}
				c, err := tx.GetCertificate("01")
				if err != nil || c.UserID != "U" || c.IssuanceSeq != 1 {
					t.Errorf("certificate after the upgrade: %+v, %v", c, err)
				}
				// The serial stays claimed.
				if err := tx.CreateIntent(store.Intent{Serial: "01", Issuer: "issuing-ca", UserID: "V", CreatedAt: time.Now()}); !errors.Is(err, store.ErrDuplicateSerial) {
					t.Errorf("intent for a used serial after the upgrade: %v", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNewerSchemaRefused: a database holding a migration this smki does
// not embed (a newer smki upgraded it) is refused with store.ErrTooNew,
// by Open before it applies anything and by OpenReadOnly.
func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := schemaURL(t)
	conn := migratedConn(t, u)
	if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ('9999_from_the_future')"); err != nil {
		t.Fatal(err)
	}
	if s, err := postgres.Open(ctx, u); !errors.Is(err, store.ErrTooNew) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open = %v, want %v", err, store.ErrTooNew)
	}
	if r, err := postgres.OpenReadOnly(ctx, u); !errors.Is(err, store.ErrTooNew) {
		if r != nil {
			r.Close()
		}
		t.Fatalf("OpenReadOnly = %v, want %v", err, store.ErrTooNew)
	}
	if _, err := conn.Exec(ctx, "DELETE FROM schema_migrations WHERE version = '9999_from_the_future'"); err != nil {
		t.Fatal(err)
	}
	_ = openURL(t, u).Close()
}

// TestUpgradeDropsKeyIndex: certificates written under schema 0008 (an
// index on key_hash) are found by key after migration 0009 drops it, and
// a key certified for their user refuses another user's intent; a
// database holding a certificate whose key has no owner row is refused,
// with the index kept.
func TestUpgradeDropsKeyIndex(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		orphan bool // a certificate's key with no row in key_owners
	}{
		{"consistent", false},
		{"key without its owner", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			u := schemaURL(t)
			conn := migratedConn(t, u)
			qs := append([]string(nil), schemaBefore0009...)
			for i, serial := range []string{"01", "02"} {
				qs = append(qs, "INSERT INTO serials (serial) VALUES ('"+serial+"')",
					`INSERT INTO certificates (serial, issuer, user_id, party_id, profile, role, key_hash, not_before, not_after,
					issued_at, der, issuance_seq) VALUES ('`+serial+`', 'issuing-ca', 'U', 'P', 'p', 'SC', 'K',
					'2026-01-01T00:00:00.000000000Z', '2027-01-01T00:00:00.000000000Z', '2026-01-01T00:00:00.000000000Z', '\x01', `+string(rune('1'+i))+`)`)
			}
			qs = append(qs, "UPDATE counters SET value = 2 WHERE name = 'issuance'")
			if !tc.orphan {
				qs = append(qs, "INSERT INTO key_owners (key_hash, user_id) VALUES ('K', 'U')")
			}
			for _, q := range qs {
				if _, err := conn.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			index := func() bool {
				t.Helper()
				var ok bool
				if err := conn.QueryRow(ctx, "SELECT to_regclass('certificates_key') IS NOT NULL").Scan(&ok); err != nil {
					t.Fatal(err)
				}
				return ok
			}
			up, err := postgres.Open(ctx, u)
			if tc.orphan {
				if err == nil {
					up.Close()
					t.Fatal("migration 0009 accepted a certificate whose key has no owner")
				}
				if !index() {
					t.Fatal("the refused migration dropped the key index")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer up.Close()
			if index() {
				t.Fatal("after the upgrade: the key index is still there")
			}
			err = up.Update(ctx, func(tx store.Tx) error {
				cs, err := tx.CertificatesByKey("K")
				if err != nil || len(cs) != 2 || cs[0].Serial != "01" || cs[1].Serial != "02" {
					t.Errorf("certificates by key after the upgrade: %+v, %v", cs, err)
				}
				errs, err := store.CreateIntents(tx, []store.NewIntent{{Intent: store.Intent{Serial: "03", Issuer: "issuing-ca",
					UserID: "V", CreatedAt: time.Now()}, KeyHash: "K"}})
				var ku *store.KeyInUseError
				if err != nil || !errors.As(errs[0], &ku) || ku.UserID != "U" || ku.Serial != "01" {
					t.Errorf("another user's intent for the key after the upgrade: %v, %v", errs, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// migratedConn brings the schema at u to every migration (an Open, then a
// Close) and returns a plain connection to it, closed when t ends, through
// which a test takes the schema back to an older version.
func migratedConn(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	_ = openURL(t, u).Close()
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
