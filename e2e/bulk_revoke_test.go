package e2e

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
)

// TestBulkRevokeCLI drives `smki revoke --party` on the real binary: a dry
// run by default that lists and changes nothing; an ARO may not revoke a
// whole party; the SRO's --yes revokes every certificate in one go, each
// listed in the served ORL with its reason; on a terminal the CLI draws a
// progress bar.
func TestBulkRevokeCLI(t *testing.T) {
	t.Parallel()
	requirement(t, "L4")
	srv, _, ra := devRA(t)
	work := t.TempDir()
	const party = "90-B3-D5-1F-30-00-00-0A"
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	sro, aro := filepath.Join(work, "sro"), filepath.Join(work, "aro")
	ra.must("officer", "add", "--id", "supa-sro", "--name", "Ann Bee", "--kind", "sro", "--party", party, "--out", sro)
	ra.as(sro).must("officer", "add", "--id", "supa-aro", "--name", "Al Bee", "--kind", "aro", "--party", party, "--out", aro)
	const users = 4
	for i := range users {
		user := fmt.Sprintf("90-B3-D5-1F-30-01-00-%02X", i)
		ra.must("user", "create", "--id", user, "--party", party, "--role", "IS", "--name", fmt.Sprintf("supplier-a-is-%d", i))
		key, csr := filepath.Join(work, fmt.Sprintf("%d.key", i)), filepath.Join(work, fmt.Sprintf("%d.csr", i))
		mustRun(t, nil, "keygen", "--out", key)
		mustRun(t, nil, "csr", "--key", key, "--user-id", user, "--profile", "xml-signing", "--out", csr)
		ra.as(aro).must("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr, "--out", filepath.Join(work, fmt.Sprintf("%d.pem", i)))
	}
	good := func() int {
		var cs []struct {
			Status string `json:"status"`
		}
		out := ra.must("certs", "--party", party, "--json").stdout
		if err := json.Unmarshal([]byte(out), &cs); err != nil {
			t.Fatalf("certs: %v\n%s", err, out)
		}
		n := 0
		for _, c := range cs {
			if c.Status == "good" {
				n++
			}
		}
		return n
	}

	dry := ra.as(sro).must("revoke", "--party", party, "--reason", "cessationOfOperation")
	if !strings.Contains(dry.stdout, fmt.Sprintf("dry run: %d certificate(s) would be revoked", users)) {
		t.Fatalf("dry run output:\n%s", dry.stdout)
	}
	if n := good(); n != users {
		t.Fatalf("after the dry run %d good certificates, want %d", n, users)
	}
	ra.as(aro).refused("E_RA_FORBIDDEN", "revoke", "--party", party, "--reason", "cessationOfOperation", "--yes")

	var res struct {
		DryRun      bool `json:"dry_run"`
		Revocations []struct {
			Seq    uint64
			Serial string
			Reason int
		} `json:"revocations"`
	}
	out := ra.as(sro).must("revoke", "--party", party, "--reason", "cessationOfOperation", "--yes", "--json").stdout
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("revoke --json: %v\n%s", err, out)
	}
	if res.DryRun || len(res.Revocations) != users {
		t.Fatalf("revoke --yes: %s", out)
	}
	if n := good(); n != 0 {
		t.Fatalf("after --yes %d certificates still good", n)
	}
	_, der := srv.get(t, "/crl/orl.crl")
	orl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]int{}
	for _, e := range orl.RevokedCertificateEntries {
		listed[fmt.Sprintf("%x", e.SerialNumber)] = e.ReasonCode
	}
	for k, r := range res.Revocations {
		if k > 0 && r.Seq != res.Revocations[k-1].Seq+1 {
			t.Errorf("revocation sequence not consecutive: %d after %d", r.Seq, res.Revocations[k-1].Seq)
		}
		if reason, ok := listed[strings.TrimLeft(r.Serial, "0")]; !ok || reason != 5 {
			t.Errorf("ORL lists %s: %v with reason %d, want cessationOfOperation (5)", r.Serial, ok, reason)
		}
	}

	t.Run("progress bar on a terminal", func(t *testing.T) {
		script := need.Tool(t, "script", "bsdutils") // gives the CLI a terminal
		// A second party, so there is something to revoke.
		const p2 = "90-B3-D5-1F-30-00-00-0B"
		ra.must("party", "create", "--id", p2, "--name", "supplier-b")
		sro2 := filepath.Join(work, "sro2")
		ra.must("officer", "add", "--id", "supb-sro", "--name", "Bo Dee", "--kind", "sro", "--party", p2, "--out", sro2)
		user := "90-B3-D5-1F-30-02-00-00"
		ra.must("user", "create", "--id", user, "--party", p2, "--role", "IS", "--name", "supplier-b-is")
		key, csr := filepath.Join(work, "b.key"), filepath.Join(work, "b.csr")
		mustRun(t, nil, "keygen", "--out", key)
		mustRun(t, nil, "csr", "--key", key, "--user-id", user, "--profile", "xml-signing", "--out", csr)
		ra.as(sro2).must("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr, "--out", filepath.Join(work, "b.pem"))
		cmd := strings.Join([]string{smkiBin, "revoke", "--party", p2, "--reason", "cessationOfOperation", "--yes",
			"--ra", ra.url, "--officer", sro2}, " ")
		r := runCmd(t, nil, script, "-qec", cmd, "/dev/null")
		if r.code != 0 {
			t.Fatalf("smki revoke under script: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{"revoking [", "1/1", "committing (ORL reissue)", "revoked 1 certificate(s)"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("terminal output lacks %q:\n%q", want, r.stdout)
			}
		}
	})
}
