package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/store/bolt"
)

// TestStoreMigrateRunAgain: `smki store migrate` run again after it
// finished (the operator's first run was killed after the copy committed
// but before it printed its report) proves the destination holds exactly
// the source and exits 0, writing nothing; into a destination holding
// anything else it is refused, saying nothing was written and what to
// give instead. Both ways: bbolt to PostgreSQL and back.
func TestStoreMigrateRunAgain(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	src := boltEngine(data)
	srv := src.serve(t, data)
	srv.stop()
	pg := pgEngine(t)
	back := "bbolt:" + filepath.Join(t.TempDir(), "back.db")
	for _, step := range [][2]string{{src.spec, pg.spec}, {pg.spec, back}} {
		mustRun(t, nil, "store", "migrate", "--from", step[0], "--to", step[1])
		r := run(t, nil, "store", "migrate", "--from", step[0], "--to", step[1])
		if r.code != 0 || !strings.Contains(r.stdout, "already holds everything") {
			t.Errorf("migrate %s -> %s again: exit %d\n%s%s", step[0], step[1], r.code, r.stdout, r.stderr)
		}
	}
	// Another store's data: refused, and the message says what to do.
	other := filepath.Join(t.TempDir(), "other")
	boltEngine(other).serve(t, other).stop()
	r := run(t, nil, "store", "migrate", "--from", boltEngine(other).spec, "--to", back)
	if r.code == 0 || !strings.Contains(r.stderr, "E_MIGRATE_DESTINATION_NOT_EMPTY") || !strings.Contains(r.stderr, "nothing was written") {
		t.Errorf("migrate into a store holding other data: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	d1 := mustRun(t, nil, "store", "digest", "--store", src.spec).stdout
	if d2 := mustRun(t, nil, "store", "digest", "--store", back).stdout; d1 != d2 {
		t.Errorf("the refused migration changed the destination:\n%s\n%s", d1, d2)
	}
}

// TestStoreVerbsRefuseMissingFile: a verb that reads a store, pointed at
// a bbolt file that is not there (a misspelt path, the wrong --data),
// fails E_STORE_MISSING and creates nothing, where it used to create an
// empty store and report on it: 'audit chain OK: 0 entries', a digest of
// nothing, a migration of nothing (exit 0).
func TestStoreVerbsRefuseMissingFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo.db")
	dest := filepath.Join(dir, "dest.db")
	for _, args := range [][]string{
		{"audit", "verify", "--store", "bbolt:" + missing},
		{"audit", "verify", "--data", dir},
		{"store", "digest", "--store", "bbolt:" + missing},
		{"store", "migrate", "--from", "bbolt:" + missing, "--to", "bbolt:" + dest},
		{"store", "verify", missing},
	} {
		r := run(t, nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "E_STORE_MISSING") || !strings.Contains(r.stderr, "no store file at "+dir) {
			t.Errorf("smki %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	// An existing source into a directory that is not there.
	src, err := bolt.Open(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	src.Close()
	gone := filepath.Join(dir, "gone", "dest.db")
	r := run(t, nil, "store", "migrate", "--from", "bbolt:"+filepath.Join(dir, "src.db"), "--to", "bbolt:"+gone)
	if r.code != 2 || !strings.Contains(r.stderr, "E_STORE_MISSING: the directory of --to "+gone+" does not exist") {
		t.Errorf("store migrate into a missing directory: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The same file by two paths: said so, not taken for a server's lock.
	r = run(t, nil, "store", "migrate", "--from", "bbolt:"+filepath.Join(dir, "src.db"), "--to", "bbolt:"+filepath.Join(dir, ".", "src.db")+"?batch=off")
	if r.code != 2 || !strings.Contains(r.stderr, "--from and --to name the same store") {
		t.Errorf("store migrate onto its own source: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, p := range []string{missing, filepath.Join(dir, "smki.db"), dest} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was created", p)
		}
	}
}

// TestStoreVerbsOnALockedStore: the offline store verbs pointed at a bbolt
// store that another process holds (a running smki serve) fail
// E_STORE_LOCKED saying what to do instead, not only that the file is in
// use.
func TestStoreVerbsOnALockedStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "smki.db")
	st, err := bolt.Open(p) // holds the file lock, as smki serve does
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // after the parallel subtests
	for _, args := range [][]string{
		{"audit", "verify", "--store", "bbolt:" + p},
		{"store", "digest", "--store", "bbolt:" + p},
		{"store", "verify", p},
		{"store", "migrate", "--from", "bbolt:" + p, "--to", "bbolt:" + filepath.Join(dir, "dest.db")},
	} {
		t.Run(args[1], func(t *testing.T) {
			t.Parallel()
			r := run(t, nil, args...)
			if r.code == 0 || !strings.Contains(r.stderr, "E_STORE_LOCKED") || !strings.Contains(r.stderr, "stop the smki serve using it first") {
				t.Errorf("smki %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
			}
		})
	}
}
