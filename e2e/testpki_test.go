package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
)

// TestTestPKIOpenSSL builds the scenario with the real binary and checks
// it with openssl: every certificate chains, both CRLs verify, and the
// profile shows as docs/profiles.md describes.
func TestTestPKIOpenSSL(t *testing.T) {
	t.Parallel()
	requirement(t, "L3", "L5")
	openssl := need.Tool(t, "openssl", "openssl")
	out := filepath.Join(t.TempDir(), "pki")
	mustRun(t, nil, "testpki", "--out", out)

	root := filepath.Join(out, "trust", "root.pem")
	issuing := filepath.Join(out, "trust", "issuing-ca.pem")
	users, err := os.ReadDir(filepath.Join(out, "users"))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) < 4 {
		t.Fatalf("only %d users", len(users))
	}
	for _, u := range users {
		cert := filepath.Join(out, "users", u.Name(), "cert.pem")
		r := runCmd(t, nil, openssl, "verify", "-CAfile", root, "-untrusted", issuing, cert)
		if r.code != 0 || !strings.Contains(r.stdout, ": OK") {
			t.Errorf("openssl verify %s: %s %s", u.Name(), r.stdout, r.stderr)
		}
	}
	for _, crl := range []struct{ file, ca string }{{"orl.crl", issuing}, {"arl.crl", root}} {
		r := runCmd(t, nil, openssl, "crl", "-in", filepath.Join(out, "trust", crl.file), "-CAfile", crl.ca, "-noout", "-verify")
		if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "verify OK") {
			t.Errorf("openssl crl -verify %s: %s %s", crl.file, r.stdout, r.stderr)
		}
	}
	// The SC user's certificate: xml-signing only, OU=87, critical keyUsage
	// digitalSignature and critical certificatePolicies.
	r := runCmd(t, nil, openssl, "x509", "-noout", "-text", "-in", filepath.Join(out, "users", "srp-sc-xml", "cert.pem"))
	for _, want := range []string{
		"OU = 87", "X509v3 Key Usage: critical", "Digital Signature",
		"X509v3 Certificate Policies: critical", "1.2.826.0.1.8641679.1.2.1.4",
		"ecdsa-with-SHA256", "prime256v1", "23:59:59",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("SC certificate text lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, absent := range []string{"Basic Constraints", "Extended Key Usage", "Subject Alternative Name", "Key Agreement"} {
		if strings.Contains(r.stdout, absent) {
			t.Errorf("SC certificate has %q", absent)
		}
	}
	csv, err := os.ReadFile(filepath.Join(out, "devices.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if lines[0] != "device_eui64,supplier_user_id,smets" || len(lines) < 51 {
		t.Fatalf("devices.csv: header %q, %d rows", lines[0], len(lines)-1)
	}
}
