package cli

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/librarytext"
)

// TestOfficerCredentialUnusable: a client verb given an --officer
// directory it cannot use says which file is wrong and what to do, in
// smki's words (exit 2): no directory there; the state smki officer
// keygen leaves (key.pem and officer.csr, before the appointer's
// cert.pem and ca.pem are put beside them); a cert.pem that is not for
// key.pem. Before, the operating system's or crypto/tls's text reached
// the user ("open DIR/cert.pem: no such file or directory").
func TestOfficerCredentialUnusable(t *testing.T) {
	t.Parallel()
	run := mainStderr
	base := t.TempDir()
	waiting := filepath.Join(base, "ann")
	if code, stderr := run("officer", "keygen", "--out", waiting); code != 0 {
		t.Fatalf("officer keygen: %d %s", code, stderr)
	}
	other := filepath.Join(base, "bob")
	if code, stderr := run("officer", "keygen", "--out", other); code != 0 {
		t.Fatalf("officer keygen: %d %s", code, stderr)
	}
	// key.pem of one officer beside cert.pem of another (ann's key is
	// certified nowhere: a self-signed certificate of bob's key will do).
	mismatched := filepath.Join(base, "mixed")
	os.MkdirAll(mismatched, 0o700)
	bobKey, err := credential.LoadKey(filepath.Join(other, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, bobKey.Public(), bobKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	annKey, _ := os.ReadFile(filepath.Join(waiting, "key.pem"))
	os.WriteFile(filepath.Join(mismatched, "key.pem"), annKey, 0o600)
	os.WriteFile(filepath.Join(mismatched, "cert.pem"), certPEM, 0o644)
	os.WriteFile(filepath.Join(mismatched, "ca.pem"), certPEM, 0o644)
	for _, tc := range []struct {
		name, dir string
		want      []string
	}{
		{"no directory", filepath.Join(base, "nowhere"), []string{"no officer credential", "smki officer add"}},
		{"after officer keygen", waiting, []string{"cert.pem", "officer.csr", "smki officer add --csr"}},
		{"cert.pem of another key", mismatched, []string{"cert.pem and key.pem are not one credential"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stderr := run("party", "list", "--ra", "https://127.0.0.1:1", "--officer", tc.dir)
			if code != verb.ExitUsage {
				t.Errorf("exit %d, want 2: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("%q does not say %q", stderr, w)
				}
			}
			if m := librarytext.Find(stderr); m != "" || strings.Contains(stderr, "no such file") {
				t.Errorf("library text %q in %q", m, stderr)
			}
		})
	}
}
