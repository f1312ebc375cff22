package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/softhsmtest"
)

// TestServeRefusesABadPINOnce: smki serve on a CA in a PKCS#11 token,
// given a PIN the token refuses or a pin-source that gives none, exits 2
// with E_KMS_PIN and what to fix, and deploy/smki.service does not restart
// on exit 2 (TestSystemdUnit): restarted every RestartSec it would log in
// with the wrong PIN until the token locks it.
// Not parallel: it sets SOFTHSM2_CONF for the process (and the binary).
func TestServeRefusesABadPINOnce(t *testing.T) {
	uri := softhsmtest.Token(t, "smki")
	dir := t.TempDir()
	mustRun(t, nil, "ca", "init", "--data", dir, "--kms", uri)
	for _, tt := range []struct{ name, pin, want string }{
		{"wrong PIN", "pin-value=4321", "the token refused the PIN"},
		{"pin-source missing", "pin-source=" + filepath.Join(dir, "pin"), "cannot be read (no such file)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, "serve", "--data", dir, "--listen", "127.0.0.1:0",
				"--kms", strings.Replace(uri, "pin-value=1234", tt.pin, 1))
			if r.code != 2 || !strings.Contains(r.stderr, "E_KMS_PIN") || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("smki serve with a bad PIN: exit %d, stderr:\n%s\nwant exit 2, E_KMS_PIN saying %q", r.code, r.stderr, tt.want)
			}
		})
	}
}
