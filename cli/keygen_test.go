package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/librarytext"
)

// TestOfficerKeygenExisting: smki officer keygen into a directory that
// already holds an officer key or CSR replaces neither, and says so in
// smki's words naming --out (exit 2), not the operating system's "open
// DIR/key.pem: file exists"; a directory holding only officer.csr gets
// no new key.pem beside it that the CSR is not for.
func TestOfficerKeygenExisting(t *testing.T) {
	t.Parallel()
	run := mainStderr
	dir := filepath.Join(t.TempDir(), "ann")
	if code, stderr := run("officer", "keygen", "--out", dir); code != 0 {
		t.Fatalf("officer keygen: exit %d %s", code, stderr)
	}
	key, _ := os.ReadFile(filepath.Join(dir, "key.pem"))
	csrOnly := filepath.Join(t.TempDir(), "bob")
	os.MkdirAll(csrOnly, 0o700)
	os.WriteFile(filepath.Join(csrOnly, "officer.csr"), []byte("csr"), 0o644)
	for _, d := range []string{dir, csrOnly} {
		code, stderr := run("officer", "keygen", "--out", d)
		if code != verb.ExitUsage || !strings.Contains(stderr, "--out") || strings.Contains(stderr, "file exists") {
			t.Errorf("officer keygen --out %s again: exit %d %q, want 2 naming --out in smki's words", d, code, stderr)
		}
		if m := librarytext.Find(stderr); m != "" {
			t.Errorf("library text %q in %q", m, stderr)
		}
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "key.pem")); !bytes.Equal(again, key) {
		t.Error("key.pem was replaced")
	}
	if _, err := os.Stat(filepath.Join(csrOnly, "key.pem")); !os.IsNotExist(err) {
		t.Errorf("a key.pem was written beside an officer.csr it is not for (%v)", err)
	}
}

// TestOfficerAddCSRNotOutsKey: smki officer add --csr with an --out that
// holds another key.pem (the appointee's directory of a second keygen, a
// CSR mixed up) is refused before the appointment is sent (exit 2): the
// certificate could not be written beside that key, and the RA would
// have appointed an officer holding no credential.
func TestOfficerAddCSRNotOutsKey(t *testing.T) {
	t.Parallel()
	run := mainStderr
	base := t.TempDir()
	ann, bob := filepath.Join(base, "ann"), filepath.Join(base, "bob")
	for _, d := range []string{ann, bob} {
		if code, stderr := run("officer", "keygen", "--out", d); code != 0 {
			t.Fatalf("officer keygen: %d %s", code, stderr)
		}
	}
	// The RA here is unreachable: the refusal must come before it.
	code, stderr := run("officer", "add", "--ra", "https://127.0.0.1:1", "--officer", ann, "--id", "ann", "--name", "Ann",
		"--kind", "aro", "--party", "90-B3-D5-1F-30-00-00-5C", "--csr", filepath.Join(bob, "officer.csr"), "--out", ann)
	if code != verb.ExitUsage || !strings.Contains(stderr, "not the key of --csr") {
		t.Errorf("exit %d %q, want 2 saying key.pem is not the CSR's key", code, stderr)
	}
}

// mainStderr runs smki with args (no stdin) and returns its exit code and
// what it wrote to stderr.
func mainStderr(args ...string) (int, string) {
	var out, errb bytes.Buffer
	code := Main(append([]string{"smki"}, args...), strings.NewReader(""), &out, &errb)
	return code, errb.String()
}
