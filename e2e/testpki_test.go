package e2e

import (
	"encoding/json"
	"fmt"
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
		if u.Name() == "supplier-b-expired" { // the expired signer of a negative case (docs/testpki.md)
			if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "certificate has expired") {
				t.Errorf("openssl verify %s: %s %s, want expired", u.Name(), r.stdout, r.stderr)
			}
			continue
		}
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
	if !strings.HasPrefix(lines[0], "device_eui64,supplier_user_id,smets") || len(lines) < 51 {
		t.Fatalf("devices.csv: header %q, %d rows", lines[0], len(lines)-1)
	}
}

// TestTestPKICasesCLI: what a team's CI does with the scenario and no Go:
// smki testpki at a fixed --at, then smki verify on the cases of
// cases.json with the trust directory and bundle it names, as of its at:
// every refusal and each signer's first accept per Command Variant, so the
// SignedPreCommand (Command Variant 5, GBCS) accepts run too
// (TestCasesVerdicts, package testpki, checks every case with the
// library). Each gets the verdict cases.json states (exit 0 on accept, 3
// on reject); a case that depends on an earlier one's replay state (after)
// is accepted, since smki verify keeps none (docs/testpki.md).
func TestTestPKICasesCLI(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "pki")
	mustRun(t, nil, "testpki", "--out", out, "--at", "2026-11-28T09:00:00Z")
	cs := readTestPKICases(t, out)
	if cs.At != "2026-11-28T09:00:00Z" || len(cs.Cases) < 100 {
		t.Fatalf("cases.json: at %q, %d cases", cs.At, len(cs.Cases))
	}
	wants := map[string]decision{}
	firsts := map[string]bool{}    // signer and Command Variant of the accepts run
	preCommand := map[string]int{} // Command Variant 5 cases run, by decision
	for _, c := range cs.Cases {
		wants[c.Name] = c.Want
		first := fmt.Sprintf("%s CV%d", c.Signer, c.CommandVariant)
		if c.Want.Decision == "accept" && firsts[first] {
			continue
		}
		firsts[first] = true
		if c.CommandVariant == 5 {
			preCommand[c.Want.Decision]++
		}
		r := run(t, nil, "verify", "--trust", filepath.Join(out, cs.Trust), "--bundle", filepath.Join(out, cs.Bundle),
			"--at", cs.At, filepath.Join(out, filepath.FromSlash(c.File)))
		var d decision
		if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
			t.Fatalf("%s: stdout is not a decision: %q %s", c.Name, r.stdout, r.stderr)
		}
		want, exit := c.Want, 3
		if c.After != "" {
			want = wants[c.After]
		}
		if want.Decision == "accept" {
			exit = 0
		}
		if d.Decision != want.Decision || d.Code != want.Code || d.Route != want.Route || r.code != exit {
			t.Errorf("%s: smki verify exit %d %+v, cases.json wants %+v (exit %d)", c.Name, r.code, d, want, exit)
		}
	}
	if preCommand["accept"] == 0 || preCommand["reject"] == 0 {
		t.Errorf("Command Variant 5 (SignedPreCommand) cases run: %v; cases.json must have accepts and refusals", preCommand)
	}
	// The feed page through smki verify --feed: the first case it
	// changes gets its after_feed verdict (REVOKED).
	for _, c := range cs.Cases {
		if c.AfterFeed == nil || c.After != "" {
			continue
		}
		r := run(t, nil, "verify", "--trust", filepath.Join(out, cs.Trust), "--at", cs.At,
			"--feed", filepath.Join(out, filepath.FromSlash(cs.Feed)), filepath.Join(out, filepath.FromSlash(c.File)))
		var d decision
		if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || d.Decision != c.AfterFeed.Decision || d.Code != c.AfterFeed.Code || d.Route != c.AfterFeed.Route || r.code != 3 {
			t.Errorf("%s with --feed: exit %d %q %s, cases.json wants %+v (exit 3)", c.Name, r.code, r.stdout, r.stderr, *c.AfterFeed)
		}
		return
	}
	t.Error("cases.json has no case the feed page changes")
}

// testPKICases is cases.json as a team reads it (docs/testpki.md).
type testPKICases struct {
	At     string `json:"at"`
	Trust  string `json:"trust"`
	Bundle string `json:"bundle"`
	Feed   string `json:"feed"`
	Cases  []struct {
		Name, File, Signer, After string
		CommandVariant            int `json:"command_variant"`
		Want                      decision
		AfterFeed                 *decision `json:"after_feed"`
	} `json:"cases"`
}

func readTestPKICases(t *testing.T, out string) *testPKICases {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs testPKICases
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatal(err)
	}
	return &cs
}

// TestTestPKISidecarCases: a team's CI running the sidecar on the real
// clock from what smki testpki wrote alone: smki verifier serve --trust
// scenario/trust (no --bundle, no RA) starts ready, and every case of
// cases.json POSTed in order gets the stated verdict, the replay included.
func TestTestPKISidecarCases(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "pki")
	mustRun(t, nil, "testpki", "--out", out)
	cs := readTestPKICases(t, out)
	addr := startSidecar(t, "--trust", filepath.Join(out, cs.Trust))
	for _, c := range cs.Cases {
		signed, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(c.File)))
		if err != nil {
			t.Fatal(err)
		}
		d := postVerify(t, addr, signed)
		if d.Decision != c.Want.Decision || d.Code != c.Want.Code || d.Route != c.Want.Route {
			t.Errorf("%s: the sidecar says %+v, cases.json wants %+v", c.Name, d, c.Want)
		}
	}
}
