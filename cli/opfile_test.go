package cli

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/credential/credentialtest"
	"github.com/smki/smki/internal/librarytext"
	"github.com/smki/smki/internal/opfile"
)

// TestOperatorFilesOverCap: every certificate, key, passphrase and config
// file an operator names is refused with E_FILE_TOO_LARGE, naming the file
// and its kind's cap (opfile), by its size and without being read: each
// row gives a sparse 64 MiB file through the verb's real entry point and
// wants exit 2 and under 16 MiB allocated. Not parallel: it measures the
// process's allocations.
func TestOperatorFilesOverCap(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil { // sparse: no disk, no write
		t.Fatal(err)
	}
	f.Close()
	key := filepath.Join(dir, "sc.key")
	if code, stderr := mainStderr("keygen", "--out", key); code != 0 {
		t.Fatal(stderr)
	}
	pki := filepath.Join(dir, "pki")
	if code, stderr := mainStderr("testpki", "--out", pki); code != 0 {
		t.Fatal(stderr)
	}
	trust := filepath.Join(pki, "trust")
	rootPEM, err := os.ReadFile(filepath.Join(trust, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := pem.Decode(rootPEM)
	tlsDir := filepath.Join(dir, "tls") // a certificate and key that load as a TLS pair
	credentialtest.WriteSelfSigned(t, tlsDir, "localhost", &x509.Certificate{Raw: root.Bytes})
	tlsCert, tlsKey := credential.CertPath(tlsDir), credential.KeyPath(tlsDir)
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(big, filepath.Join(data, "passphrase")); err != nil {
		t.Fatal(err)
	}
	bigTrust := filepath.Join(dir, "bigtrust")
	if err := os.MkdirAll(bigTrust, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(big, filepath.Join(bigTrust, "root.pem")); err != nil {
		t.Fatal(err)
	}
	ra := "https://127.0.0.1:1"
	for _, tc := range []struct {
		name string
		args []string
		cap  int64
	}{
		{"trust export --ra-ca", []string{"trust", "export", "--ra", ra, "--ra-ca", big, "--out", filepath.Join(dir, "trust")}, opfile.MaxCertificate},
		{"sign --cert", []string{"sign", "--key", key, "--cert", big, "-"}, opfile.MaxCertificate},
		{"sign --key", []string{"sign", "--key", big, "--cert", tlsCert, "-"}, opfile.MaxKey},
		{"verifier serve --tls-client-ca", []string{"verifier", "serve", "--listen", "127.0.0.1:0", "--tls-cert", tlsCert, "--tls-key", tlsKey, "--tls-client-ca", big, "--trust", trust}, opfile.MaxCertificate},
		{"verifier serve --tls-cert", []string{"verifier", "serve", "--listen", "127.0.0.1:0", "--tls-cert", big, "--tls-key", tlsKey, "--trust", trust}, opfile.MaxCertificate},
		{"verifier serve --tls-key", []string{"verifier", "serve", "--listen", "127.0.0.1:0", "--tls-cert", tlsCert, "--tls-key", big, "--trust", trust}, opfile.MaxKey},
		{"ca init --passphrase-file", []string{"ca", "init", "--data", filepath.Join(dir, "ca"), "--passphrase-file", big}, opfile.MaxKey},
		{"repo mirror --tls-ca", []string{"repo", "mirror", "--ra", ra, "--tls-ca", big, "--out", filepath.Join(dir, "mirror")}, opfile.MaxCertificate},
		{"cert status --issuer", []string{"cert", "status", "--ra", ra, "--issuer", big, "--serial", "1a"}, opfile.MaxCertificate},
		{"verify --trust DIR/root.pem", []string{"verify", "--trust", bigTrust, "-"}, opfile.MaxCertificate},
		{"serve --config", []string{"serve", "--config", big}, opfile.MaxConfig},
		{"serve --passphrase-file", []string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--passphrase-file", big}, opfile.MaxKey},
		{"serve --dev DATA/passphrase", []string{"serve", "--dev", "--data", data, "--listen", "127.0.0.1:0"}, opfile.MaxKey},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var code int
		var stderr string
		done := make(chan struct{})
		go func() { defer close(done); code, stderr = mainStderr(tc.args...) }()
		select {
		case <-done:
		case <-time.After(time.Minute): // a server that took the file started
			t.Fatalf("%s: still running after a minute; want a refusal at once", tc.name)
		}
		runtime.ReadMemStats(&after)
		want := fmt.Sprintf("E_FILE_TOO_LARGE: %s is over %d bytes", big, tc.cap)
		switch tc.name {
		case "serve --dev DATA/passphrase":
			want = fmt.Sprintf("E_FILE_TOO_LARGE: %s is over %d bytes", filepath.Join(data, "passphrase"), tc.cap)
		case "verify --trust DIR/root.pem":
			want = fmt.Sprintf("E_FILE_TOO_LARGE: %s is over %d bytes", filepath.Join(bigTrust, "root.pem"), tc.cap)
		}
		if code != verb.ExitUsage || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", tc.name, code, stderr, verb.ExitUsage, want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
			t.Errorf("%s: refusing a 64 MiB file allocated %d bytes", tc.name, n)
		}
	}
}

// TestOperatorFilesMissingInOwnWords: a certificate file or input a verb
// names that is not there is refused (exit 2) saying so in smki's words,
// not the operating system's ("open /x: no such file or directory").
func TestOperatorFilesMissingInOwnWords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := filepath.Join(dir, "sc.key")
	if code, stderr := mainStderr("keygen", "--out", key); code != 0 {
		t.Fatal(stderr)
	}
	nope := filepath.Join(dir, "nope.pem")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"sign --cert", []string{"sign", "--key", key, "--cert", nope, "-"}},
		{"sign FILE", []string{"sign", "--key", key, "--cert", nope, nope}},
		{"verify FILE", []string{"verify", "--trust", dir, nope}},
	} {
		code, stderr := mainStderr(tc.args...)
		if code != verb.ExitUsage || !strings.Contains(stderr, nope+" could not be opened: there is no such file") || librarytext.Find(stderr) != "" {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q in smki's words", tc.name, code, stderr, nope+" could not be opened: there is no such file")
		}
	}
}
