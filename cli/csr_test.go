package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/librarytext"
)

// TestCSRNotEligible: smki csr for a profile the User Role may not hold
// (SC and Digital Signing: MP134B R2) refuses before any CSR is made,
// with the RA's code and the exit status the RA's own refusal of it
// gets from smki enroll (3, refused by policy: a script must not take it
// for a failure worth retrying), and says which profiles the role may
// hold, so the SRP knows to ask for xml-signing. Nothing is written.
func TestCSRNotEligible(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := filepath.Join(dir, "sc.key")
	var out, errb bytes.Buffer
	if code := Main([]string{"smki", "keygen", "--out", key}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("keygen: exit %d %s", code, errb.String())
	}
	for _, tc := range []struct {
		role, profile, want string
	}{
		{"SC", "digital-signing", "User Role SC may hold xml-signing only"},
		{"SC", "key-agreement", "User Role SC may hold xml-signing only"},
		{"OU", "digital-signing", "User Role OU may hold xml-signing, key-agreement only"},
	} {
		t.Run(tc.role+" "+tc.profile, func(t *testing.T) {
			t.Parallel()
			csr := filepath.Join(dir, tc.role+"-"+tc.profile+".csr")
			var out, errb bytes.Buffer
			code := Main([]string{"smki", "csr", "--key", key, "--user-id", "90-B3-D5-1F-30-05-00-00", "--role", tc.role,
				"--profile", tc.profile, "--out", csr}, strings.NewReader(""), &out, &errb)
			if code != verb.ExitReject || !strings.Contains(errb.String(), "E_RA_NOT_ELIGIBLE") || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d with E_RA_NOT_ELIGIBLE and %q", code, errb.String(), verb.ExitReject, tc.want)
			}
			if _, err := os.Stat(csr); !os.IsNotExist(err) {
				t.Errorf("a CSR was written to %s (%v)", csr, err)
			}
		})
	}
}

// TestCSRKeyRefused: smki csr with a key the RA refuses (Ed25519, P-384,
// RSA: E_CSR_KEY_ALGORITHM) or cannot read (encrypted, PKCS#8 or the
// traditional "Proc-Type: 4,ENCRYPTED" form openssl ec -aes256 writes)
// makes no CSR: a usage error (exit 2, as smki enroll's own check of
// such a CSR), in smki's words, naming smki keygen or the encryption.
// Before, such keys made CSRs the RA refused at enrolment, and the
// traditional encrypted key printed asn1's structure error.
func TestCSRKeyRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	junk := make([]byte, 128)
	rand.Read(junk)
	for _, tc := range []struct {
		name string
		key  []byte
		want string
	}{
		{"Ed25519", pkcs8(ed), "E_CSR_KEY_ALGORITHM"},
		{"P-384", pkcs8(p384), "E_CSR_KEY_ALGORITHM"},
		{"RSA", pkcs8(rsaKey), "E_CSR_KEY_ALGORITHM"},
		{"encrypted PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: junk}), "encrypted"},
		{"encrypted SEC 1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: junk,
			Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,967A431F5FB945B2B1CC2D4D9C0FFA67"}}), "encrypted"},
		{"damaged SEC 1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: junk}), "smki keygen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".key")
			if err := os.WriteFile(key, tc.key, 0o600); err != nil {
				t.Fatal(err)
			}
			csr := key + ".csr"
			var out, errb bytes.Buffer
			code := Main([]string{"smki", "csr", "--key", key, "--user-id", "90-B3-D5-1F-30-05-00-00", "--profile", "xml-signing", "--out", csr},
				strings.NewReader(""), &out, &errb)
			if code != verb.ExitUsage || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d with %q", code, errb.String(), verb.ExitUsage, tc.want)
			}
			if strings.Contains(tc.want, "E_CSR") && !strings.Contains(errb.String(), "smki keygen") {
				t.Errorf("stderr %q does not name smki keygen", errb.String())
			}
			if m := librarytext.Find(errb.String()); m != "" {
				t.Errorf("library text %q in %q", m, errb.String())
			}
			if _, err := os.Stat(csr); !os.IsNotExist(err) {
				t.Errorf("a CSR was written to %s (%v)", csr, err)
			}
		})
	}
}
