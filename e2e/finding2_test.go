package e2e

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/smki/smki/internal/csrtest"
)

// TestFinding2KeyReencodedRefused is issue 12's finding 2 on the real
// binary: a key certified for an IS user's XML Signing certificate,
// re-encoded with a trailing element in its SubjectPublicKeyInfo, was
// certified again for an ES user's Digital Signing certificate and again for
// the IS user in enrol mode. Both are refused with E_RA_CSR_NOT_CANONICAL.
func TestFinding2KeyReencodedRefused(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	work := t.TempDir()
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
	const (
		party = "90-B3-D5-1F-30-00-00-0A"
		isU   = "90-B3-D5-1F-30-01-00-00"
		esU   = "90-B3-D5-1F-30-02-00-00"
	)
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.must("user", "create", "--id", isU, "--party", party, "--role", "IS", "--name", "a-is")
	ra.must("user", "create", "--id", esU, "--party", party, "--role", "ES", "--name", "a-es")
	sro := filepath.Join(work, "sro")
	ra.must("officer", "add", "--id", "a-sro", "--name", "Ann Bee", "--kind", "sro", "--party", party, "--out", sro)
	ra = ra.as(sro)

	keyFile := filepath.Join(work, "k.pem")
	mustRun(t, nil, "keygen", "--out", keyFile)
	csrFile := func(user, profile, role string) string {
		f := filepath.Join(work, user+profile+".csr")
		mustRun(t, nil, "csr", "--key", keyFile, "--user-id", user, "--profile", profile, "--role", role, "--out", f)
		return f
	}
	ra.must("enroll", "--user-id", isU, "--profile", "xml-signing", "--csr", csrFile(isU, "xml-signing", "IS"), "--out", filepath.Join(work, "is.pem"))

	b, _ := pem.Decode(mustReadFile(t, keyFile))
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key := k.(*ecdsa.PrivateKey)
	variants, err := csrtest.NonCanonical(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	reencoded := func(canonical, spki []byte) string {
		b, _ := pem.Decode(canonical)
		c, err := x509.ParseCertificateRequest(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		der, err := csrtest.Build(key, c.RawSubject, spki)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "re.csr")
		os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o600)
		return f
	}
	v := variants[0]
	ra.refused("E_RA_CSR_NOT_CANONICAL", "enroll", "--user-id", esU, "--profile", "digital-signing",
		"--csr", reencoded(mustReadFile(t, csrFile(esU, "digital-signing", "ES")), v.SPKI), "--out", filepath.Join(work, "es.pem"))
	ra.refused("E_RA_CSR_NOT_CANONICAL", "enroll", "--user-id", isU, "--profile", "xml-signing",
		"--csr", reencoded(mustReadFile(t, csrFile(isU, "xml-signing", "IS")), variants[1].SPKI), "--out", filepath.Join(work, "is2.pem"))
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
