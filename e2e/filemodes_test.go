package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWrittenFileModes lists every file and directory that smki ca init
// followed by smki serve, smki serve --dev on a fresh directory, and smki
// testpki write, and checks each one's mode: a secret (any file holding a
// private key, encrypted or not, and any passphrase or PIN file) is 0600;
// nothing is writable by group or others; a data directory is 0700; and no
// temporary file of an atomic write is left behind.
func TestWrittenFileModes(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	pass := filepath.Join(work, "passphrase")
	if err := os.WriteFile(pass, []byte("file modes e2e passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// smki ca init, then smki serve on it (the RA's access CA, system
	// signer, first officers, OCSP responder).
	initDir := filepath.Join(work, "init")
	mustRun(t, nil, "ca", "init", "--data", initDir, "--passphrase-file", pass)
	startServer(t, exec.Command(smkiBin, "serve", "--passphrase-file", pass), initDir)
	// smki serve --dev on a fresh directory (its passphrase, CA and test
	// PKI scenario too).
	devDir := filepath.Join(work, "dev")
	startServer(t, exec.Command(smkiBin, "serve", "--dev"), devDir)
	// smki testpki (test material, handed to verifier teams).
	pkiDir := filepath.Join(work, "testpki")
	mustRun(t, nil, "testpki", "--out", pkiDir)

	for _, tc := range []struct {
		name    string
		dir     string
		dataDir bool // a server's data directory: 0700
	}{
		{"ca init + serve", initDir, true},
		{"serve --dev", devDir, true},
		{"testpki", pkiDir, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.dataDir {
				if fi, err := os.Stat(tc.dir); err != nil || fi.Mode().Perm() != 0o700 {
					t.Errorf("data directory %s: %v %v, want 0700", tc.dir, fi.Mode(), err)
				}
			}
			secrets := 0
			err := filepath.WalkDir(tc.dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				fi, err := d.Info()
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(tc.dir, path)
				mode := fi.Mode().Perm()
				t.Logf("%v %s", fi.Mode(), rel)
				if mode&0o022 != 0 {
					t.Errorf("%s is %v: writable by group or others", rel, fi.Mode())
				}
				if strings.Contains(d.Name(), ".tmp") {
					t.Errorf("%s: a temporary file of an atomic write is left behind", rel)
				}
				if d.IsDir() || !secret(t, path) {
					return nil
				}
				secrets++
				if mode != 0o600 {
					t.Errorf("%s holds a secret and is %v, want 0600", rel, fi.Mode())
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if secrets == 0 {
				t.Errorf("no secret found under %s: the check would pass whatever the modes", tc.dir)
			}
		})
	}
}

// secret says whether the file at path is one whose reading would give
// away a key: it holds a PEM private key (encrypted or not), or is a
// passphrase or PIN file.
func secret(t *testing.T, path string) bool {
	name := strings.ToLower(filepath.Base(path))
	if strings.Contains(name, "passphrase") || strings.Contains(name, "pin") {
		return true
	}
	if strings.HasSuffix(name, ".db") {
		return false // the store: encrypted keys are files, never rows
	}
	return bytes.Contains(mustReadFile(t, path), []byte("PRIVATE KEY-----"))
}
