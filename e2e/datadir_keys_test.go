package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/keyscan"
)

// TestServeLeavesNoPlaintextServiceKey: after `smki serve --dev` has
// started, every private key of the service (CA root and issuing, RA
// access CA, RA system signer) is an encrypted softkms file under
// DATA/keys/, and access/ and ra/ hold only references to them. The only
// unencrypted keys in the data directory are the ones that are not the
// service's: the bootstrap officers' mTLS credentials under officers/
// (handed to two people, who keep them elsewhere) and, in --dev only, the
// test PKI scenario under testpki/.
func TestServeLeavesNoPlaintextServiceKey(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)

	found, err := keyscan.Plaintext(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		if !strings.HasPrefix(f.Path, "officers/") && !strings.HasPrefix(f.Path, "testpki/") {
			t.Errorf("unencrypted %s in DATA/%s", f.Type, f.Path)
		}
	}
	for _, ref := range []string{"access/access-root.key.ref", "ra/system-signer.key.ref"} {
		b, err := os.ReadFile(filepath.Join(data, ref))
		if err != nil || !strings.HasPrefix(string(b), "keys/") {
			t.Errorf("DATA/%s = %q, %v; want a reference to an encrypted key under keys/", ref, b, err)
		}
	}
	keys, err := os.ReadDir(filepath.Join(data, "keys"))
	if err != nil || len(keys) != 4 {
		t.Errorf("DATA/keys holds %d files (%v); want 4: CA root, CA issuing, access CA, system signer", len(keys), err)
	}
}
