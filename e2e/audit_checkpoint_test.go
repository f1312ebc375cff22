package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// TestAuditCheckpoint: a bundle exported earlier anchors the audit chain.
// Someone with write access to the stopped server's database rewrites the
// chain from an entry before the bundle's audit_head, recomputing every
// hash: the plain walk passes, the walk against the kept bundle does not.
func TestAuditCheckpoint(t *testing.T) {
	t.Parallel()
	requirement(t, "L6")
	srv, data, ra := devRA(t)
	work := t.TempDir()

	const party, user = "90-B3-D5-1F-30-00-00-0A", "90-B3-D5-1F-30-01-00-00"
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.must("user", "create", "--id", user, "--party", party, "--role", "IS", "--name", "supplier-a-is")

	trust := filepath.Join(work, "trust")
	os.MkdirAll(trust, 0o755)
	_, rootPEM := srv.get(t, "/roots")
	os.WriteFile(filepath.Join(trust, "root.pem"), rootPEM, 0o644)
	// Two checkpoints, a few actions apart; the first file name holds a
	// comma, which the repeatable flag must not split.
	cp1 := filepath.Join(work, "bundle,1.json")
	ra.must("bundle", "export", "--out", cp1)
	ra.must("party", "create", "--id", "90-B3-D5-1F-30-00-00-5C", "--name", "srp-1")
	cp2 := filepath.Join(work, "bundle-2.json")
	ra.must("bundle", "export", "--out", cp2)
	ra.must("user", "create", "--id", "90-B3-D5-1F-30-05-00-00", "--party", "90-B3-D5-1F-30-00-00-5C", "--role", "SC", "--name", "srp-sc")
	head1, head2 := auditHead(t, cp1, rootPEM), auditHead(t, cp2, rootPEM)
	if head2.Seq <= head1.Seq {
		t.Fatalf("checkpoints %+v then %+v", head1, head2)
	}

	// The checkpoint check reads the store, never the RA's word.
	if r := ra.run("audit", "verify", "--trust", trust, "--checkpoint", cp1); r.code != 2 || !strings.Contains(r.stderr, "--data or --store") {
		t.Fatalf("--checkpoint via the RA: exit %d\n%s", r.code, r.stderr)
	}
	srv.stop()

	verify := func(extra ...string) result {
		return run(t, nil, append([]string{"audit", "verify", "--data", data}, extra...)...)
	}
	withCheckpoints := []string{"--trust", trust, "--checkpoint", cp1, "--checkpoint", cp2}
	r := verify(withCheckpoints...)
	if r.code != 0 || strings.Count(r.stdout, "OK: entry") != 2 || !strings.Contains(r.stdout, fmt.Sprintf("checkpoint %s OK: entry %d", cp1, head1.Seq)) {
		t.Fatalf("untouched chain with checkpoints: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := verify("--checkpoint", cp1); r.code != 2 || !strings.Contains(r.stderr, "--trust") {
		t.Fatalf("--checkpoint without --trust: exit %d\n%s", r.code, r.stderr)
	}
	garbage := filepath.Join(work, "garbage.json")
	os.WriteFile(garbage, []byte(`{"format":"smki-bundle/1"}`), 0o644)
	if r := verify("--trust", trust, "--checkpoint", garbage); r.code != 1 || !strings.Contains(r.stderr, "E_AUDIT_CHECKPOINT_INVALID") {
		t.Fatalf("unsigned checkpoint: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Rewrite the chain from the user creation (before both checkpoints):
	// the record now says someone else did it.
	db := filepath.Join(data, "smki.db")
	victim := findAudit(t, db, user)
	if victim.Seq >= head1.Seq {
		t.Fatalf("victim entry %d is not before the checkpoint %d", victim.Seq, head1.Seq)
	}
	rewriteAudit(t, db, victim.Seq, func(e *store.AuditEntry) {
		if e.Seq == victim.Seq {
			e.Actor = "someone-else"
		}
	})
	if r := verify(); r.code != 0 {
		t.Fatalf("plain audit verify of a consistent rewrite: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = verify(withCheckpoints...)
	if r.code != 1 {
		t.Fatalf("audit verify --checkpoint after a rewrite: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		fmt.Sprintf("E_AUDIT_CHECKPOINT: checkpoint %s: entry %d hash", cp1, head1.Seq),
		fmt.Sprintf("says %s", head1.Hash),
		fmt.Sprintf("E_AUDIT_CHECKPOINT: checkpoint %s: entry %d hash", cp2, head2.Seq),
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	r = verify(append(withCheckpoints, "--json")...)
	var rep struct {
		OK          bool `json:"ok"`
		Checkpoints []struct {
			Seq uint64 `json:"seq"`
			OK  bool   `json:"ok"`
		} `json:"checkpoints"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 1 || rep.OK || len(rep.Checkpoints) != 2 ||
		rep.Checkpoints[0].OK || rep.Checkpoints[0].Seq != head1.Seq {
		t.Fatalf("--json after a rewrite: exit %d %v\n%s", r.code, err, r.stdout)
	}
}

// auditHead opens an exported bundle against the root and returns its
// audit_head.
func auditHead(t *testing.T, path string, rootPEM []byte) bundle.AuditHead {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(rootPEM) {
		t.Fatal("no root")
	}
	b, err := bundle.Open(raw, pool, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b.AuditHead == nil {
		t.Fatalf("%s has no audit_head", path)
	}
	return *b.AuditHead
}

// findAudit returns the first audit entry whose subject or detail names s.
func findAudit(t *testing.T, path, s string) store.AuditEntry {
	t.Helper()
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var entries []store.AuditEntry
	if err := st.View(context.Background(), func(tx store.Tx) error {
		entries, err = tx.AuditEntries(1, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(strings.ToUpper(e.Subject+" "+e.Detail), s) {
			return e
		}
	}
	t.Fatalf("no audit entry names %s", s)
	return store.AuditEntry{}
}

// rewriteAudit edits audit entries from seq on directly in the bbolt file
// and recomputes every link and hash from there, and the head the next
// append chains to, as an attacker with file access and the source would:
// the chain stays internally consistent.
func rewriteAudit(t *testing.T, path string, from uint64, edit func(*store.AuditEntry)) {
	t.Helper()
	key := auditKey
	updateBoltAudit(t, path, func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		var prev []byte
		if from > 1 {
			var p store.AuditEntry
			if err := json.Unmarshal(b.Get(key(from-1)), &p); err != nil {
				return err
			}
			prev = p.Hash
		}
		type kv struct{ k, v []byte }
		var updates []kv // written after the cursor walk: bbolt forbids Put while iterating
		c := b.Cursor()
		for k, v := c.Seek(key(from)); k != nil; k, v = c.Next() {
			var e store.AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			edit(&e)
			e.PrevHash = prev
			e.Hash = store.HashAudit(e)
			prev = e.Hash
			nv, err := json.Marshal(e)
			if err != nil {
				return err
			}
			updates = append(updates, kv{append([]byte(nil), k...), nv})
		}
		for _, u := range updates {
			if err := b.Put(u.k, u.v); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("state")).Put([]byte("audit_last_hash"), prev)
	})
}
