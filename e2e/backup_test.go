package e2e

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/store/bolt"
)

// TestStoreBackupUnderLoad: `smki store backup` copies the running
// server's bbolt store while clients keep enrolling; the copy verifies
// (smki store verify), and restored into a fresh data directory it holds
// every certificate any client had received before the backup began, an
// intact audit chain, and serves: it issues on, and once stopped every
// intent is settled and the chain is intact. Revocations run during the
// backup too. A party officer may not take a backup.
func TestStoreBackupUnderLoad(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	srv := boltEngine(data).serve(t, data)
	url := "https://" + srv.addr
	admin := filepath.Join(data, "officers", "admin")
	f := newEnrolFixture(t, url, data, 1, 0x42)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var got issued
	if _, _, err := enrolLoop(ctx, url, f.sro, f.users[0], 5, &got); err != nil {
		t.Fatal(err)
	}
	load, stopLoad := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, _, err := enrolLoop(load, url, f.sro, f.users[0], 0, &got); done <- err }()
	waitFor(t, time.Minute, "enrolments under load", func() bool { return got.len() >= 8 })

	got.mu.Lock()
	before := maps.Clone(got.ders) // received before the backup began
	got.mu.Unlock()
	// Revocations too while the backup runs: the certificates issued
	// before it, one after another.
	sro, err := raclient.NewClient(url, f.sro)
	if err != nil {
		t.Fatal(err)
	}
	revoked := make(chan int, 1)
	go func() {
		n := 0
		for serial := range before {
			if load.Err() != nil {
				break
			}
			if _, err := sro.Revoke(load, ra.RevokeRequest{Serial: serial, Reason: 1}); err == nil {
				n++
			}
		}
		revoked <- n
	}()
	backup := filepath.Join(t.TempDir(), "smki-backup.db")
	r := mustRun(t, nil, "store", "backup", "--ra", url, "--officer", admin, "--out", backup)
	stopLoad()
	if err := <-done; err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Logf("%d revocations while the backup ran", <-revoked)
	if !strings.Contains(r.stdout, "audit chain intact") {
		t.Fatalf("store backup: %s", r.stdout)
	}
	if got.len() <= len(before) {
		t.Logf("no enrolment completed during the backup (%d before, %d after)", len(before), got.len())
	}

	// A party officer is refused, and no file is left behind.
	refusedOut := filepath.Join(t.TempDir(), "x.db")
	if r := run(t, nil, "store", "backup", "--ra", url, "--officer", f.sro, "--out", refusedOut); r.code == 0 || !strings.Contains(r.stderr, ra.ErrForbidden.Error()) {
		t.Fatalf("store backup by an SRO: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(refusedOut); err == nil {
		t.Fatal("a refused backup left a file")
	}
	if _, err := os.Stat(refusedOut + ".partial"); err == nil {
		t.Fatal("a refused backup left a partial file")
	}

	if r := mustRun(t, nil, "store", "verify", backup); !strings.Contains(r.stdout, "audit chain intact") {
		t.Fatalf("store verify: %s", r.stdout)
	}

	// Restore: the data directory's keys and credentials, the backup as
	// its store.
	restored := filepath.Join(t.TempDir(), "restored")
	if r := runCmd(t, nil, "cp", "-a", data, restored); r.code != 0 {
		t.Fatalf("cp: %s", r.stderr)
	}
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, "smki.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(restored, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	want := &issued{ders: before}
	certs, _ := checkStore(t, st, want, false)
	if certs < len(before) {
		t.Fatalf("restored store holds %d certificates, clients had %d before the backup", certs, len(before))
	}
	if _, err := ra.WalkAudit(ctx, st); err != nil {
		t.Fatalf("restored audit chain: %v", err)
	}
	st.Close()

	srv2 := startServer(t, exec.Command(smkiBin, "serve", "--dev"), restored)
	if code, body := srv2.get(t, "/healthz"); code != 200 || !strings.Contains(string(body), `"status":"ok"`) {
		t.Fatalf("restored server /healthz: %d %s", code, body)
	}
	// The restored server issues on (no serial twice, the issuance
	// sequence ahead of every certificate), and once stopped its store has
	// every intent settled (those open in the copy at start) and an intact
	// chain.
	if _, _, err := enrolLoop(ctx, "https://"+srv2.addr, f.sro, f.users[0], 2, want); err != nil {
		t.Fatalf("enrol on the restored server: %v", err)
	}
	srv2.stop()
	st, err = bolt.Open(filepath.Join(restored, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkStore(t, st, want, true)
	if _, err := ra.WalkAudit(ctx, st); err != nil {
		t.Fatalf("restored audit chain after serving: %v", err)
	}
}
