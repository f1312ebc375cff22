package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
	"github.com/smki/smki/store/bolt"
)

// TestStoreBackupOutRefused: `smki store backup` to a disk that fills up
// mid-copy, or into a directory that does not exist, fails with
// E_BACKUP_WRITE naming the cause (not the RA as unreachable, which a
// retry would not cure) and leaves neither --out nor a partial file; a
// partial file left by an interrupted backup is named, with what to do.
func TestStoreBackupOutRefused(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		need.Missing(t, "root", "mounting a size-limited tmpfs for the backup needs root")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=32k,mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		need.Missing(t, "tmpfs mount", strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	_, _, ra := devRA(t)

	// A partial file left by a backup killed mid-copy: named, with what to do.
	left := filepath.Join(t.TempDir(), "smki.db")
	if err := os.WriteFile(left+".partial", []byte("half a copy"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := ra.run("store", "backup", "--out", left); r.code != 2 || !strings.Contains(r.stderr, "E_BACKUP_WRITE") ||
		!strings.Contains(r.stderr, left+".partial is there, left by a backup") || !strings.Contains(r.stderr, "remove it") {
		t.Errorf("backup beside a partial file left by an interrupted one: exit %d, stderr %q", r.code, r.stderr)
	}

	for _, tc := range []struct {
		name, out, reason string
		code              int
	}{
		{"disk full", filepath.Join(mnt, "smki.db"), "the disk is full", 1},
		{"no directory", filepath.Join(t.TempDir(), "gone", "smki.db"), "its directory does not exist", 2},
	} {
		r := ra.run("store", "backup", "--out", tc.out)
		if r.code != tc.code || !strings.Contains(r.stderr, "E_BACKUP_WRITE") || !strings.Contains(r.stderr, tc.reason) ||
			strings.Contains(r.stderr, "E_RA_UNREACHABLE") {
			t.Errorf("%s: exit %d (want %d), stderr %q, want E_BACKUP_WRITE and %q", tc.name, r.code, tc.code, r.stderr, tc.reason)
		}
		for _, p := range []string{tc.out, tc.out + ".partial"} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s: %s left behind", tc.name, p)
			}
		}
	}
}

// TestStoreVerifyRefusesNonBackups: `smki store verify` passes only a
// whole store with a CA in it. An empty file (left unchanged: bbolt would
// make it a new store), a copy cut short (which crashed the process with
// SIGBUS) and a store holding no CA state (what a migration killed before
// its copy committed leaves) each fail E_STORE_CORRUPT, exit 1.
func TestStoreVerifyRefusesNonBackups(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	boltEngine(data).serve(t, data).stop()
	whole, err := os.ReadFile(filepath.Join(data, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	mustRun(t, nil, "store", "migrate", "--from", boltEngine(data).spec, "--to", "bbolt:"+backup)
	mustRun(t, nil, "store", "verify", backup)
	compact, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	// Cut within the pages in use (a dev store uses 14 of 4096 bytes; the
	// file itself is larger, grown ahead).
	files := map[string][]byte{"empty": nil, "cut": compact[:20000], "cut live file": whole[:20000]}
	for name, b := range files {
		p := filepath.Join(dir, name+".db")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A store without a CA: a migration's destination before its copy.
	empty, err := bolt.Open(filepath.Join(dir, "no-ca.db"))
	if err != nil {
		t.Fatal(err)
	}
	empty.Close()
	for _, name := range []string{"empty", "cut", "cut live file", "no-ca"} {
		p := filepath.Join(dir, name+".db")
		r := run(t, nil, "store", "verify", p)
		if r.code != 1 || !strings.Contains(r.stderr, "E_STORE_CORRUPT") || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("store verify %s: exit %d, stderr %.300q; want 1 and E_STORE_CORRUPT", name, r.code, r.stderr)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "empty.db")); err != nil || fi.Size() != 0 {
		t.Errorf("the empty file after store verify: %v %v", fi.Size(), err)
	}
}

// TestBackupFilesUntouched: `smki store backup` leaves only the backup in
// its directory (no journal beside it), and `smki store verify` leaves a
// backup byte for byte as it was, adding nothing beside it: opening a
// store writes to it (its layout version; a newer smki's upgrade, which
// the smki that wrote it would then refuse), so a check that changed the
// file would change the evidence it checks and could spoil the way back.
func TestBackupFilesUntouched(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "smki.db")
	ra.must("store", "backup", "--out", out)
	names := func() []string {
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, e := range es {
			n = append(n, e.Name())
		}
		return n
	}
	if n := names(); len(n) != 1 || n[0] != "smki.db" {
		t.Errorf("after store backup the directory holds %v, want only smki.db", n)
	}
	before, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, nil, "store", "verify", out)
	after, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("store verify changed the backup")
	}
	if n := names(); len(n) != 1 {
		t.Errorf("after store verify the directory holds %v, want only smki.db", n)
	}
}
