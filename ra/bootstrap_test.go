package ra

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/ratest"
)

func TestBootstrapIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // ran Bootstrap once
	ctx := context.Background()
	dir := filepath.Join(e.dir, "officers", "admin")
	before := ratest.ReadFile(t, filepath.Join(dir, "cert.pem"))
	n := len(ratest.AuditTail(e.t, e.st, 1<<20))
	if err := e.svc.Bootstrap(ctx, e.dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, ratest.ReadFile(t, filepath.Join(dir, "cert.pem"))) || len(ratest.AuditTail(e.t, e.st, 1<<20)) != n {
		t.Fatal("second Bootstrap changed something")
	}
	for _, f := range []string{"key.pem", "cert.pem", "ca.pem"} {
		if _, err := os.Stat(filepath.Join(e.dir, "officers", "approver", f)); err != nil {
			t.Fatal(err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "key.pem")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key.pem mode %v", fi.Mode())
	}
	// Moved to its holder (the directory is gone): a restart leaves the
	// credential alone, so the holder's copy keeps working.
	old := e.admin
	held := t.TempDir()
	for _, f := range []string{"key.pem", "cert.pem", "ca.pem"} {
		if err := os.WriteFile(filepath.Join(held, f), ratest.ReadFile(t, filepath.Join(dir, f)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	n = len(ratest.AuditTail(e.t, e.st, 1<<20))
	if err := e.svc.Bootstrap(ctx, e.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err == nil || len(ratest.AuditTail(e.t, e.st, 1<<20)) != n {
		t.Fatal("Bootstrap re-issued an existing officer's credential")
	}
	if _, err := e.svc.Whoami(ctx, e.actorFromDir(held)); err != nil {
		t.Fatalf("the holder's credential stopped working: %v", err)
	}
	// Break-glass: RecoverBootstrap issues a new one; the old one stops.
	if err := e.svc.RecoverBootstrap(ctx, e.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Whoami(ctx, old); err == nil {
		t.Fatal("superseded credential still works")
	}
	if o, err := e.svc.Whoami(ctx, e.actorFromDir(dir)); err != nil || o.Kind != KindRAOperator {
		t.Fatalf("new credential: %+v %v", o, err)
	}
	if tail := ratest.AuditTail(e.t, e.st, 1)[0]; tail.Actor != bootstrapActor || !strings.Contains(tail.Detail, "bootstrap reissue") {
		t.Errorf("recovery audit %+v", tail)
	}
	// An interrupted swap (recorded, files still in admin.new) is finished.
	if err := os.Rename(dir, dir+".new"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Bootstrap(ctx, e.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Whoami(ctx, e.actorFromDir(dir)); err != nil {
		t.Fatalf("swapped-in credential: %v", err)
	}
	if _, err := os.Stat(dir + ".new"); err == nil {
		t.Error("admin.new left behind")
	}
	// The access CA reopens to the same root; half a CA is refused.
	acc, err := ownpki.OpenAccessCA(filepath.Join(e.dir, "access"), e.keys, e.clock.Now, nil)
	if err != nil || !acc.Root().Equal(e.svc.Access().Root()) {
		t.Fatalf("reopen: %v", err)
	}
	half := t.TempDir()
	os.WriteFile(filepath.Join(half, "access-root.pem"), acc.RootPEM(), 0o644)
	if _, err := ownpki.OpenAccessCA(half, e.keys, e.clock.Now, nil); err == nil {
		t.Fatal("half an access CA opened")
	}
}
