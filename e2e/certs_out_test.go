package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/internal/need"
)

// TestEnrolCSRIntake (issue 15): CSRs in every form a user has, each with
// its exact outcome, on the real binary and server; the certificate comes
// out of enroll --json and again, byte-identical, from cert get; revoke
// prints the new status and the revocation sequence.
func TestEnrolCSRIntake(t *testing.T) {
	t.Parallel()
	openssl := need.Tool(t, "openssl", "openssl")
	_, _, ra := devRA(t)
	work := t.TempDir()
	const (
		srp1  = "90-B3-D5-1F-30-00-00-5C"
		srpSC = "90-B3-D5-1F-30-05-00-00"
		other = "90-B3-D5-1F-30-05-00-01"
	)
	ra.must("party", "create", "--id", srp1, "--name", "srp-1")
	ra.must("user", "create", "--id", srpSC, "--party", srp1, "--role", "SC", "--name", "srp-sc")
	ra.must("user", "create", "--id", other, "--party", srp1, "--role", "SC", "--name", "srp-sc-2")
	sro, aro := filepath.Join(work, "sro"), filepath.Join(work, "aro")
	ra.must("officer", "add", "--id", "srp1-sro", "--name", "Sam Roe", "--kind", "sro", "--party", srp1, "--out", sro)
	ra.as(sro).must("officer", "add", "--id", "srp1-aro", "--name", "Al Roe", "--kind", "aro", "--party", srp1, "--out", aro)
	ra = ra.as(aro)

	csr := func(name, uid string, der bool) string {
		key := filepath.Join(work, name+".key")
		if r := runCmd(t, nil, openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key); r.code != 0 {
			t.Fatal(r.stderr)
		}
		out := filepath.Join(work, name+".csr")
		args := []string{"req", "-new", "-key", key, "-subj", "/OU=87/x500UniqueIdentifier=" + strings.ReplaceAll(uid, "-", ""), "-out", out}
		if der {
			args = append(args, "-outform", "DER")
		}
		if r := runCmd(t, nil, openssl, args...); r.code != 0 {
			t.Fatal(r.stderr)
		}
		return out
	}
	pemCSR, derCSR, stdinDER, otherCSR := csr("pem", srpSC, false), csr("der", srpSC, true), csr("stdin", srpSC, true), csr("other", other, false)
	garbage, empty := filepath.Join(work, "garbage.csr"), filepath.Join(work, "empty.csr")
	os.WriteFile(garbage, []byte("this is not a certificate request\n"), 0o644)
	os.WriteFile(empty, nil, 0o644)
	derBytes := mustReadFile(t, stdinDER)

	type certJSON struct {
		Serial, Status, UserID string
		PEM                    string `json:"pem"`
	}
	var issued certJSON
	var all []certJSON
	for _, tc := range []struct {
		name     string
		csr      string
		stdin    []byte
		wantExit int
		wantCode string
	}{
		{"PEM file", pemCSR, nil, 0, ""},
		{"DER file", derCSR, nil, 0, ""},
		{"DER on stdin (openssl req -outform DER)", "-", derBytes, 0, ""},
		{"garbage", garbage, nil, 2, "E_CSR_INVALID"},
		{"empty", empty, nil, 2, "E_CSR_EMPTY"},
		{"a CSR for another User ID", otherCSR, nil, 3, "E_RA_CSR_MISMATCH"},
	} {
		args := []string{"enroll", "--user-id", srpSC, "--profile", "xml-signing", "--csr", tc.csr, "--json", "--ra", ra.url, "--officer", aro}
		r := run(t, tc.stdin, args...)
		if r.code != tc.wantExit || !strings.Contains(r.stderr, tc.wantCode) {
			t.Fatalf("%s: exit %d, stderr %q; want exit %d with %q", tc.name, r.code, r.stderr, tc.wantExit, tc.wantCode)
		}
		if tc.wantExit != 0 {
			if r.stdout != "" {
				t.Errorf("%s: refused but printed %q", tc.name, r.stdout)
			}
			continue
		}
		var got certJSON
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Serial == "" || got.Status != "good" ||
			!strings.HasPrefix(got.PEM, "-----BEGIN CERTIFICATE-----") {
			t.Fatalf("%s: enroll --json printed %q (%v): want the certificate record with its pem", tc.name, r.stdout, err)
		}
		issued = got
		all = append(all, got)
	}
	if len(all) != 3 {
		t.Fatalf("%d enrolments succeeded, want 3", len(all))
	}

	// cert get returns the certificate byte for byte as enrolled.
	r := ra.must("cert", "get", "--serial", issued.Serial)
	if r.stdout != issued.PEM {
		t.Fatalf("cert get --serial %s:\n%s\nwant the enrolled PEM\n%s", issued.Serial, r.stdout, issued.PEM)
	}
	chainFile := filepath.Join(work, "chain.pem")
	ra.must("cert", "get", "--serial", issued.Serial, "--chain", "--out", chainFile)
	chain := string(mustReadFile(t, chainFile))
	if !strings.HasPrefix(chain, issued.PEM) || strings.Count(chain, "BEGIN CERTIFICATE") != 3 {
		t.Fatalf("cert get --chain: want the certificate, the Issuing OCA and the root, got\n%s", chain)
	}
	ra.refused("E_RA_NOT_FOUND", "cert", "get", "--serial", "0123456789abcdef")

	// cert inspect: the SMKI view, from a file and from stdin with the RA's status.
	var view struct {
		Profile string   `json:"profile"`
		Roles   []string `json:"roles"`
		UserID  string   `json:"user_id"`
		PartyID string   `json:"party_id"`
		Serial  string   `json:"serial"`
		Status  string   `json:"status"`
	}
	certFile := filepath.Join(work, "issued.pem")
	os.WriteFile(certFile, []byte(issued.PEM), 0o644)
	if err := json.Unmarshal([]byte(mustRun(t, nil, "cert", "inspect", "--json", certFile).stdout), &view); err != nil ||
		view.Profile != "xml-signing" || strings.Join(view.Roles, ",") != "SC" || view.UserID != srpSC || view.Serial != issued.Serial || view.Status != "" {
		t.Fatalf("cert inspect %s: %+v (%v), want xml-signing, SC, %s, serial %s, no status without --ra", certFile, view, err, srpSC, issued.Serial)
	}
	r = run(t, []byte(issued.PEM), "cert", "inspect", "--json", "--ra", ra.url, "--officer", aro, "-")
	if err := json.Unmarshal([]byte(r.stdout), &view); err != nil || view.Status != "good" || view.PartyID != srp1 {
		t.Fatalf("cert inspect --ra -: %+v (%v) %s, want status good and party %s", view, err, r.stderr, srp1)
	}
	// DCC's own XML-signing test certificate (issuer CN=Z1): profile, User ID
	// and Remote Party Role (OU 87, xmlSign) from the certificate; it carries
	// no User Role attribute, and inspect says so.
	dcc := conformance.Path(t, "certs", "xml-sign-90B3D51F30010000-ds.pem")
	r = mustRun(t, nil, "cert", "inspect", dcc)
	if !strings.Contains(r.stdout, "profile:    xml-signing") || !strings.Contains(r.stdout, "user id:    90-B3-D5-1F-30-01-00-00") ||
		!strings.Contains(r.stdout, "no smkiUserRole attribute") || !strings.Contains(r.stdout, "ou:         87 (Remote Party Role xmlSign)") {
		t.Fatalf("cert inspect on DCC's certificate:\n%s", r.stdout)
	}
	if r := run(t, []byte("not a certificate"), "cert", "inspect", "-"); r.code != 2 {
		t.Fatalf("cert inspect on garbage: exit %d, want 2", r.code)
	}

	// revoke prints the new status and the sequence.
	r = ra.must("revoke", "--serial", issued.Serial, "--reason", "keyCompromise")
	if !strings.Contains(r.stdout, "revoked") || strings.Contains(r.stdout, " good ") || !strings.Contains(r.stdout, "revocation sequence now 1") {
		t.Fatalf("revoke: want the certificate shown revoked and sequence 1, got\n%s", r.stdout)
	}
	var res struct {
		Certificates []map[string]any `json:"certificates"`
		Revocations  []map[string]any `json:"revocations"`
	}
	r = ra.must("revoke", "--serial", all[0].Serial, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || len(res.Revocations) != 1 || len(res.Certificates) != 1 {
		t.Fatalf("revoke --json: %v\n%s", err, r.stdout)
	}
	if res.Certificates[0]["status"] != "revoked" {
		t.Errorf("revoke --json: certificate status %v, want revoked", res.Certificates[0]["status"])
	}
	for _, k := range []string{"seq", "serial", "issuer", "user_id", "party_id", "reason", "revoked_at"} {
		if _, ok := res.Revocations[0][k]; !ok {
			t.Errorf("revoke --json: revocation lacks %q: %v", k, res.Revocations[0])
		}
	}
	if len(res.Revocations[0]) != 7 || res.Revocations[0]["seq"] != float64(2) {
		t.Errorf("revoke --json: revocation %v, want exactly the 7 snake_case members and seq 2", res.Revocations[0])
	}
}
