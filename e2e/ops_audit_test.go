package e2e

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	bbolt "go.etcd.io/bbolt"
)

// TestAuditVerifyBrokenEntry: an audit entry edited in the middle of a
// stopped server's store (its hash left as it was), on bbolt and on
// PostgreSQL, fails `smki audit verify` with one code, the entry, how much
// held and what to do; the --json report has the documented keys
// (docs/operations.md, "Anchoring the audit log"), on success and on
// failure.
func TestAuditVerifyBrokenEntry(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"bbolt", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			eng := boltEngine(data)
			if name == "postgres" {
				eng = pgEngine(t)
			}
			srv := eng.serve(t, data)
			ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
			ra.must("party", "create", "--id", "90-B3-D5-1F-30-00-00-0A", "--name", "supplier-a")
			ra.must("party", "create", "--id", "90-B3-D5-1F-30-00-00-0B", "--name", "supplier-b")
			srv.stop()

			keys := func(out string) []string {
				t.Helper()
				var m map[string]any
				if err := json.Unmarshal([]byte(out), &m); err != nil {
					t.Fatalf("--json: %v\n%s", err, out)
				}
				return slices.Sorted(maps.Keys(m))
			}
			r := mustRun(t, nil, "audit", "verify", "--store", eng.spec, "--json")
			if got := keys(r.stdout); !slices.Equal(got, []string{"entries", "head", "ok"}) {
				t.Errorf("--json keys of an intact chain: %v", got)
			}
			// Edit entry 3's detail in place, as someone with the file or
			// database might.
			if name == "postgres" {
				conn, err := pgx.Connect(context.Background(), eng.spec)
				if err != nil {
					t.Fatal(err)
				}
				_, err = conn.Exec(context.Background(), "UPDATE audit SET detail = 'edited' WHERE seq = 3")
				conn.Close(context.Background())
				if err != nil {
					t.Fatal(err)
				}
			} else {
				editBoltAudit(t, filepath.Join(data, "smki.db"), 3)
			}
			r = run(t, nil, "audit", "verify", "--store", eng.spec)
			if r.code != 1 || !strings.Contains(r.stderr, "E_AUDIT_CHAIN_BROKEN: entry 3: content does not match its hash") ||
				!strings.Contains(r.stderr, "the 2 entries before it hold") || !strings.Contains(r.stderr, "restore the last verified backup") ||
				strings.Count(r.stderr, "E_") != 1 {
				t.Errorf("audit verify of an edited entry: exit %d, stderr %q", r.code, r.stderr)
			}
			r = run(t, nil, "audit", "verify", "--store", eng.spec, "--json")
			if got := keys(r.stdout); r.code != 1 || !slices.Equal(got, []string{"broken_at", "entries", "error", "ok"}) {
				t.Errorf("--json of an edited entry: exit %d, keys %v\n%s", r.code, got, r.stdout)
			}
		})
	}
}

// editBoltAudit changes entry seq's detail in the bbolt file at path,
// leaving its hash as it was.
func editBoltAudit(t *testing.T, path string, seq uint64) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], seq)
		b := tx.Bucket([]byte("audit"))
		var e map[string]any
		if err := json.Unmarshal(b.Get(k[:]), &e); err != nil {
			return err
		}
		e["Detail"] = "edited"
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return b.Put(k[:], v)
	})
	if err != nil {
		t.Fatal(err)
	}
}
