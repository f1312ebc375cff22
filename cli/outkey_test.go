package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/cli/verb"
)

// TestOutNeverReplacesAKey: an --out that names a private key file (the
// slip smki csr --key sc.key --out sc.key, or smki enroll --out sc.key)
// is refused before anything is written or sent, naming --out (exit 2),
// and the key is left as it was. Before, the key was replaced by the CSR
// or the certificate: the SC user's key lost, its certificate useless.
// Replacing a certificate or CSR file stays allowed.
func TestOutNeverReplacesAKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := mainStderr
	key := filepath.Join(dir, "sc.key")
	if code, stderr := run("keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: %d %s", code, stderr)
	}
	before, _ := os.ReadFile(key)
	csr := []string{"csr", "--key", key, "--user-id", "90-B3-D5-1F-30-05-00-00", "--profile", "xml-signing", "--out"}
	if code, stderr := run(append(csr, key)...); code != verb.ExitUsage || !strings.Contains(stderr, "--out") || !strings.Contains(stderr, "private key") {
		t.Errorf("csr --out the key: exit %d %q, want 2 naming --out and the private key", code, stderr)
	}
	// smki enroll checks --out before it sends (verb.CheckOut): no RA is
	// needed to see the refusal.
	if code, stderr := run("enroll", "--ra", "https://127.0.0.1:1", "--officer", dir, "--user-id", "90-B3-D5-1F-30-05-00-00",
		"--profile", "xml-signing", "--csr", key, "--out", key); code != verb.ExitUsage || !strings.Contains(stderr, "private key") {
		t.Errorf("enroll --out the key: exit %d %q, want 2 naming the private key", code, stderr)
	}
	if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
		t.Fatal("the private key was replaced")
	}
	again := filepath.Join(dir, "sc.csr")
	for range 2 {
		if code, stderr := run(append(csr, again)...); code != 0 {
			t.Errorf("csr --out a CSR file (again): exit %d %q, want 0", code, stderr)
		}
	}
}
