package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/raclient"

	"github.com/smki/smki/ra"
)

// TestStoreMigrateBothWays: a store with issued and revoked certificates,
// parties, officers, CRLs, records and audit entries goes bbolt ->
// PostgreSQL -> bbolt with `smki store migrate`; each step reports equal
// counts and hashes, the final file's digest equals the original's, the
// audit chain verifies on every copy, a destination written to since is refused,
// and a server runs on the migrated PostgreSQL store.
func TestStoreMigrateBothWays(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: migration test in -short mode")
	}
	t.Parallel()
	requirement(t, "L6")
	pg := pgEngine(t)
	data := filepath.Join(t.TempDir(), "data")
	src := boltEngine(data)
	srv := src.serve(t, data)
	url := "https://" + srv.addr
	fx := newEnrolFixture(t, url, data, 2, 0x72)
	var got issued
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, err := enrolLoop(ctx, url, fx.sro, fx.users[0], 3, &got); err != nil {
		t.Fatal(err)
	}
	sro, err := raclient.NewClient(url, fx.sro)
	if err != nil {
		t.Fatal(err)
	}
	for serial := range got.ders {
		if _, err := sro.Revoke(ctx, ra.RevokeRequest{Serial: serial, Reason: 1}); err != nil {
			t.Fatalf("revoke %s: %v", serial, err)
		}
		break
	}
	srv.stop()

	back := "bbolt:" + filepath.Join(t.TempDir(), "back.db")
	for _, step := range [][2]string{{src.spec, pg.spec}, {pg.spec, back}} {
		r := run(t, nil, "store", "migrate", "--from", step[0], "--to", step[1], "--json")
		if r.code != 0 {
			t.Fatalf("store migrate %s -> %s: exit %d\n%s%s", step[0], step[1], r.code, r.stdout, r.stderr)
		}
		var rep struct {
			OK          bool `json:"ok"`
			Source, Dst []struct {
				Type  string `json:"type"`
				Count int    `json:"count"`
				Hash  string `json:"sha256"`
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.OK {
			t.Fatalf("migrate report: %v\n%s", err, r.stdout)
		}
		for _, s := range rep.Source {
			if s.Type == "certificates" && s.Count < 5 || s.Type == "revocations" && s.Count != 1 {
				t.Errorf("source %s count %d", s.Type, s.Count)
			}
		}
	}
	d1 := mustRun(t, nil, "store", "digest", "--store", src.spec).stdout
	d2 := mustRun(t, nil, "store", "digest", "--store", back).stdout
	if d1 != d2 || !strings.Contains(d1, "audit") {
		t.Errorf("digest after the round trip differs:\n%s\n%s", d1, d2)
	}
	for _, spec := range []string{src.spec, pg.spec, back} {
		mustRun(t, nil, "audit", "verify", "--store", spec)
	}
	// The same data directory serves from the migrated database.
	srv = pg.serve(t, data)
	sro, err = raclient.NewClient("https://"+srv.addr, fx.sro)
	if err != nil {
		t.Fatal(err)
	}
	for serial := range got.ders {
		if _, err := sro.GetCertificate(ctx, serial); err != nil {
			t.Errorf("certificate %s on the migrated store: %v", serial, err)
		}
	}
	if _, _, err := enrolLoop(ctx, "https://"+srv.addr, fx.sro, fx.users[1], 1, &got); err != nil {
		t.Errorf("enrol on the migrated store: %v", err)
	}
	// Written to since: no longer a copy of the source, so refused (an
	// identical destination is TestStoreMigrateRunAgain's).
	r := run(t, nil, "store", "migrate", "--from", src.spec, "--to", pg.spec)
	if r.code == 0 || !strings.Contains(r.stderr, "E_MIGRATE_DESTINATION_NOT_EMPTY") {
		t.Errorf("migrate into a non-empty store: exit %d %s", r.code, r.stderr)
	}
}
