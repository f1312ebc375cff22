package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOfficerGeneratesOwnKey: on an RA that certifies only appointee keys,
// an appointment without a CSR is refused with its code; the appointee makes
// their own key with smki officer keygen, the appointer certifies its CSR and
// never sees the key, and the assembled directory works as --officer.
func TestOfficerGeneratesOwnKey(t *testing.T) {
	t.Parallel()
	requirement(t, "L1")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev", "--require-officer-csr"), data)
	work := t.TempDir()
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
	const srp1 = "90-B3-D5-1F-30-00-00-5C"
	ra.must("party", "create", "--id", srp1, "--name", "srp-1")

	ra.refused("E_RA_CSR_REQUIRED", "officer", "add", "--id", "srp1-sro", "--name", "Sam Roe", "--kind", "sro",
		"--party", srp1, "--out", filepath.Join(work, "refused"))

	sam := filepath.Join(work, "sam")
	mustRun(t, nil, "officer", "keygen", "--out", sam)
	issued := filepath.Join(work, "issued-for-sam")
	ra.must("officer", "add", "--id", "srp1-sro", "--name", "Sam Roe", "--kind", "sro", "--party", srp1,
		"--csr", filepath.Join(sam, "officer.csr"), "--out", issued)
	if _, err := os.Stat(filepath.Join(issued, "key.pem")); err == nil {
		t.Fatal("the appointer's output holds a key")
	}
	for _, f := range []string{"cert.pem", "ca.pem"} {
		b, err := os.ReadFile(filepath.Join(issued, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sam, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := ra.as(sam).must("officer", "list", "--party", srp1, "--json").stdout
	if !strings.Contains(out, `"srp1-sro"`) {
		t.Fatalf("the appointee's own credential does not work: %s", out)
	}
	audit := ra.must("audit", "verify", "--json").stdout
	if !strings.Contains(audit, `"ok": true`) && !strings.Contains(audit, `"ok":true`) {
		t.Errorf("audit verify: %s", audit)
	}
}
