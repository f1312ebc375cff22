package cli

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/librarytext"
)

// TestEnrollCSRUserIDLocal: smki enroll refuses, before anything is sent,
// a CSR whose subject names another User ID than --user-id (or none), with
// the code and exit status of the RA's own refusal of it (E_RA_CSR_MISMATCH,
// 3), naming both IDs and the smki csr that makes the right one. The RA is
// never asked: --ra names a port nothing listens on and --officer a
// directory that does not exist. Before, the mismatch surfaced only as the
// RA's refusal, and here as an unusable credential.
func TestEnrollCSRUserIDLocal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const (
		userA = "90-B3-D5-1F-30-05-00-00"
		userB = "90-B3-D5-1F-30-06-00-00"
	)
	key, csr := filepath.Join(dir, "a.key"), filepath.Join(dir, "a.csr")
	if code, stderr := mainStderr("keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: %d %s", code, stderr)
	}
	if code, stderr := mainStderr("csr", "--key", key, "--user-id", userA, "--profile", "xml-signing", "--out", csr); code != 0 {
		t.Fatalf("csr: %d %s", code, stderr)
	}
	// A CSR with no User ID at all (CN only, as a careless openssl req makes).
	noID := filepath.Join(dir, "no-id.csr")
	k, err := credential.LoadKey(key)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "srp-sc"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noID, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, csr string
		want      []string
	}{
		{"another user's CSR", csr, []string{"E_RA_CSR_MISMATCH", userA, userB, "smki csr --user-id " + userB, "nothing was sent"}},
		{"a CSR naming no user", noID, []string{"E_RA_CSR_MISMATCH", "no x500UniqueIdentifier", userB, "smki csr --user-id " + userB, "nothing was sent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stderr := mainStderr("enroll", "--ra", "https://127.0.0.1:1", "--officer", filepath.Join(dir, "no-officer"),
				"--user-id", userB, "--profile", "xml-signing", "--csr", tc.csr)
			if code != verb.ExitReject {
				t.Errorf("exit %d, want 3 (the RA's refusal, made here): %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("%q does not say %q", stderr, w)
				}
			}
			if m := librarytext.Find(stderr); m != "" {
				t.Errorf("library text %q in %q", m, stderr)
			}
		})
	}
	// The CSR of the user enrolled passes the check: what fails is the
	// credential, as before.
	if code, stderr := mainStderr("enroll", "--ra", "https://127.0.0.1:1", "--officer", filepath.Join(dir, "no-officer"),
		"--user-id", userA, "--profile", "xml-signing", "--csr", csr); strings.Contains(stderr, "E_RA_CSR_MISMATCH") {
		t.Errorf("the user's own CSR refused: exit %d %s", code, stderr)
	}
}
