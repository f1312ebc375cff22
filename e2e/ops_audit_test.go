package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
)

// TestAuditVerifyBrokenEntry: on bbolt and on PostgreSQL (where an
// auditor's SELECT-only role suffices to verify and export), a stopped
// server's audit log cut short after a bundle was exported passes the
// plain walk and fails the walk against that bundle (E_AUDIT_CHECKPOINT,
// the entry missing); an entry edited in the middle (its hash left as it
// was) fails `smki audit verify` with one code, the entry, how much
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
			// A checkpoint: a bundle exported now, and a trust root from
			// outside the store.
			work := t.TempDir()
			cp := filepath.Join(work, "bundle.json")
			ra.must("bundle", "export", "--out", cp)
			trust := filepath.Join(work, "trust")
			os.MkdirAll(trust, 0o755)
			_, root := srv.get(t, "/roots")
			os.WriteFile(filepath.Join(trust, "root.pem"), root, 0o644)
			head := auditHead(t, cp, root)
			ra.must("party", "create", "--id", "90-B3-D5-1F-30-00-00-0C", "--name", "supplier-c")
			srv.stop()

			keys := func(out string) []string {
				t.Helper()
				var m map[string]any
				if err := json.Unmarshal([]byte(out), &m); err != nil {
					t.Fatalf("--json: %v\n%s", err, out)
				}
				return slices.Sorted(maps.Keys(m))
			}
			if name == "postgres" {
				// An auditor's SELECT-only role verifies and exports: the
				// audit verbs open PostgreSQL read-only.
				u, err := url.Parse(eng.spec)
				if err != nil {
					t.Fatal(err)
				}
				schema := u.Query().Get("search_path")
				reader := "smki_auditor_" + strings.TrimPrefix(schema, "smki_test_")
				pgExec(t, eng.spec, "CREATE ROLE "+reader)
				t.Cleanup(func() {
					pgExec(t, eng.spec, "DROP OWNED BY "+reader)
					pgExec(t, eng.spec, "DROP ROLE "+reader)
				})
				pgExec(t, eng.spec, "GRANT USAGE ON SCHEMA "+schema+" TO "+reader)
				pgExec(t, eng.spec, "GRANT SELECT ON ALL TABLES IN SCHEMA "+schema+" TO "+reader)
				q := u.Query()
				q.Set("role", reader) // the session acts as the auditor's role
				u.RawQuery = q.Encode()
				mustRun(t, nil, "audit", "verify", "--store", u.String(), "--trust", trust, "--checkpoint", cp)
				mustRun(t, nil, "audit", "export", "--store", u.String())
			}
			r := mustRun(t, nil, "audit", "verify", "--store", eng.spec, "--json")
			if got := keys(r.stdout); !slices.Equal(got, []string{"entries", "head", "ok"}) {
				t.Errorf("--json keys of an intact chain: %v", got)
			}
			// The tail cut off from the checkpoint's entry on, the head
			// moved back: the walk alone cannot see it (documented), the
			// checkpoint does.
			if name == "postgres" {
				pgExec(t, eng.spec, "DELETE FROM audit WHERE seq >= $1", head.Seq)
				pgExec(t, eng.spec, "UPDATE audit_head SET seq = $1, hash = (SELECT hash FROM audit WHERE seq = $1)", head.Seq-1)
			} else {
				truncateBoltAudit(t, filepath.Join(data, "smki.db"), head.Seq)
			}
			mustRun(t, nil, "audit", "verify", "--store", eng.spec)
			r = run(t, nil, "audit", "verify", "--store", eng.spec, "--trust", trust, "--checkpoint", cp)
			if r.code != 1 || !strings.Contains(r.stderr, fmt.Sprintf("E_AUDIT_CHECKPOINT: checkpoint %s: entry %d hash (missing)", cp, head.Seq)) {
				t.Errorf("audit verify --checkpoint of a truncated chain: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}

			// Edit entry 3's detail in place, as someone with the file or
			// database might.
			if name == "postgres" {
				pgExec(t, eng.spec, "UPDATE audit SET detail = 'edited' WHERE seq = 3")
			} else {
				tamperAudit(t, filepath.Join(data, "smki.db"), 3, func(e map[string]any) { e["Detail"] = "edited" })
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

// pgExec runs one statement on the database at url.
func pgExec(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

// truncateBoltAudit deletes the audit entries from seq on in the bbolt file
// at path and moves the head back to the entry before, as someone with the
// file might.
func truncateBoltAudit(t *testing.T, path string, from uint64) {
	t.Helper()
	key := auditKey
	updateBoltAudit(t, path, func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		var dead [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(key(from)); k != nil; k, _ = c.Next() {
			dead = append(dead, append([]byte(nil), k...))
		}
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		var last store.AuditEntry
		if err := json.Unmarshal(b.Get(key(from-1)), &last); err != nil {
			return err
		}
		st := tx.Bucket([]byte("state"))
		if err := st.Put([]byte("audit_seq"), key(from-1)); err != nil {
			return err
		}
		return st.Put([]byte("audit_last_hash"), last.Hash)
	})
}
