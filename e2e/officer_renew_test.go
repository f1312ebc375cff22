package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// copyCredential copies a credential directory's files to a new directory.
func copyCredential(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"key.pem", "cert.pem", "ca.pem"} {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOfficerCredentialRenewal: officer credentials last a year. The
// bootstrap ra-operator renews its own in place and goes on working, while a
// copy of the old credential is refused at once; an SRO re-issues the
// credential of an ARO who lost their key, for the ARO's own keygen CSR,
// and the lost credential is refused.
func TestOfficerCredentialRenewal(t *testing.T) {
	t.Parallel()
	requirement(t, "L1")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	work := t.TempDir()
	admin := filepath.Join(data, "officers", "admin")
	ra := raSession{t: t, url: "https://" + srv.addr, officer: admin}
	oldAdmin := filepath.Join(work, "admin-old")
	copyCredential(t, admin, oldAdmin)

	r := ra.must("officer", "renew")
	if !strings.Contains(r.stdout, "credential of officer admin renewed") || strings.Contains(r.stderr, "expires on") {
		t.Errorf("renew: stdout %q stderr %q", r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(admin, "previous", "cert.pem")); err != nil {
		t.Errorf("the previous credential was not kept: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(data, "officers", ".admin.renew-*")); len(left) != 0 {
		t.Errorf("staging left behind: %v", left)
	}
	const srp1 = "90-B3-D5-1F-30-00-00-5C"
	ra.must("party", "create", "--id", srp1, "--name", "srp-1") // the renewed admin works
	ra.as(oldAdmin).refused("E_RA_OFFICER_INACTIVE", "officer", "list")

	// An ARO loses its key; its SRO re-issues for the ARO's new key.
	sro, aro := filepath.Join(work, "sro"), filepath.Join(work, "aro")
	ra.must("officer", "add", "--id", "srp1-sro", "--name", "Sam Roe", "--kind", "sro", "--party", srp1, "--out", sro)
	ra.as(sro).must("officer", "add", "--id", "srp1-aro", "--name", "Ann Roe", "--kind", "aro", "--party", srp1, "--out", aro)
	aroNew := filepath.Join(work, "aro-new")
	mustRun(t, nil, "officer", "keygen", "--out", aroNew)
	issued := filepath.Join(work, "issued-for-aro")
	ra.as(sro).must("officer", "reissue", "--id", "srp1-aro", "--csr", filepath.Join(aroNew, "officer.csr"), "--out", issued)
	if _, err := os.Stat(filepath.Join(issued, "key.pem")); err == nil {
		t.Fatal("the re-issuer's output holds a key")
	}
	for _, f := range []string{"cert.pem", "ca.pem"} {
		b, err := os.ReadFile(filepath.Join(issued, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(aroNew, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out := ra.as(aroNew).must("officer", "list", "--party", srp1, "--json").stdout; !strings.Contains(out, `"srp1-aro"`) {
		t.Fatalf("the re-issued credential does not work: %s", out)
	}
	ra.as(aro).refused("E_RA_OFFICER_INACTIVE", "officer", "list", "--party", srp1)
	// An ARO may not re-issue its SRO; it renews its own, to a new directory.
	ra.as(aroNew).refused("E_RA_FORBIDDEN", "officer", "reissue", "--id", "srp1-sro", "--csr", filepath.Join(aroNew, "officer.csr"), "--out", filepath.Join(work, "x"))
	aro3 := filepath.Join(work, "aro-3")
	ra.as(aroNew).must("officer", "renew", "--out", aro3)
	ra.as(aro3).must("officer", "list", "--party", srp1)
	ra.as(aroNew).refused("E_RA_OFFICER_INACTIVE", "officer", "list", "--party", srp1)

	audit := ra.must("audit", "verify", "--json").stdout
	if !strings.Contains(audit, `"ok": true`) && !strings.Contains(audit, `"ok":true`) {
		t.Errorf("audit verify: %s", audit)
	}
}
