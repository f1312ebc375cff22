package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBootstrapCredentialHandedOver: the bootstrap admin credential moved
// off the server (as docs/operations.md says to) survives a restart, which
// re-issues nothing; only the break-glass `serve --recover-bootstrap`
// writes a new one, and then the moved copy stops working.
func TestBootstrapCredentialHandedOver(t *testing.T) {
	t.Parallel()
	requirement(t, "L1")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	held := filepath.Join(t.TempDir(), "admin")
	if err := os.Rename(filepath.Join(data, "officers", "admin"), held); err != nil {
		t.Fatal(err)
	}
	srv.stop()

	srv = startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	if _, err := os.Stat(filepath.Join(data, "officers", "admin")); err == nil {
		t.Fatal("a restart wrote a new admin credential")
	}
	ra := raSession{t: t, url: "https://" + srv.addr, officer: held}
	ra.must("party", "list")
	srv.stop()

	srv = startServer(t, exec.Command(smkiBin, "serve", "--dev", "--recover-bootstrap"), data)
	ra.url = "https://" + srv.addr
	ra.refused("E_RA_OFFICER_INACTIVE", "party", "list")
	ra.as(filepath.Join(data, "officers", "admin")).must("party", "list")
	ra.as(filepath.Join(data, "officers", "admin")).must("audit", "verify")
}
