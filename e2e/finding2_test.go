package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/csrtest"
)

// TestFinding2KeyReencodedRefused is issue 12's finding 2 on the real
// binary: a key certified for an IS user's XML Signing certificate,
// re-encoded with a trailing element in its SubjectPublicKeyInfo, was
// certified again for an ES user's Digital Signing certificate and again for
// the IS user in enrol mode. The CLI refuses both before sending (exit 2,
// E_CSR_NOT_CANONICAL) and the RA refuses both when sent directly
// (400 E_RA_CSR_NOT_CANONICAL).
func TestFinding2KeyReencodedRefused(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	work := t.TempDir()
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
	// The client checks the request with the CA's own parser before sending
	// it (issue 15), so the CLI refuses it locally as a usage error (exit 2);
	// the RA must refuse the same bytes when a client sends them anyway.
	sroTLS, err := credential.ClientTLS(sro)
	if err != nil {
		t.Fatal(err)
	}
	sroTLS.ServerName = "localhost"
	direct := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: sroTLS}}
	for i, c := range []struct{ user, profile, role, out string }{
		{esU, "digital-signing", "ES", "es.pem"},
		{isU, "xml-signing", "IS", "is2.pem"},
	} {
		csr := reencoded(mustReadFile(t, csrFile(c.user, c.profile, c.role)), variants[i].SPKI)
		r := ra.run("enroll", "--user-id", c.user, "--profile", c.profile, "--csr", csr, "--out", filepath.Join(work, c.out))
		if r.code != 2 || !strings.Contains(r.stderr, "E_CSR_NOT_CANONICAL") {
			t.Fatalf("smki enroll %s with a re-encoded key: exit %d, want 2 with E_CSR_NOT_CANONICAL\n%s%s", c.user, r.code, r.stdout, r.stderr)
		}
		body, _ := json.Marshal(map[string]string{"user_id": c.user, "profile": c.profile, "csr": string(mustReadFile(t, csr))})
		resp, err := direct.Post(ra.url+"/v1/enroll", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(answer), "E_RA_CSR_NOT_CANONICAL") {
			t.Fatalf("POST /v1/enroll %s with a re-encoded key: %d %s; want 400 E_RA_CSR_NOT_CANONICAL", c.user, resp.StatusCode, answer)
		}
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
