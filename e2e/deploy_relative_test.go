package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestServeConfigRelativePathsFromElsewhere: smki serve --config started
// from another working directory (/ under systemd) takes the file's
// relative paths (data, ready_file) against the file's directory, as
// docs/operations.md says: the server comes up with its data where the
// file is, answers an officer, and writes nothing into the working
// directory.
func TestServeConfigRelativePathsFromElsewhere(t *testing.T) {
	t.Parallel()
	etc, cwd := filepath.Join(t.TempDir(), "etc"), t.TempDir()
	if err := os.MkdirAll(etc, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(etc, "smki.yaml")
	writeFile(t, conf, "data: ./data\nlisten: 127.0.0.1:0\ndev: true\nready_file: ./ready\n")
	cmd := exec.Command(smkiBin, "serve", "--config", conf)
	cmd.Env = withoutSMKI(os.Environ())
	cmd.Dir = cwd
	data := filepath.Join(etc, "data")
	srv := launchServer(t, cmd, data, filepath.Join(etc, "ready"))
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
	ra.must("party", "create", "--id", "90-B3-D5-1F-30-00-00-5C", "--name", "srp-1")
	if _, err := os.Stat(filepath.Join(data, "smki.db")); err != nil {
		t.Fatalf("the store is not in the file's data directory: %v", err)
	}
	if ents, err := os.ReadDir(cwd); err != nil || len(ents) != 0 {
		t.Fatalf("the working directory holds %v (%v), want nothing", ents, err)
	}
}
