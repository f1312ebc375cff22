package e2e

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/librarytext"
)

// TestKeygenKeyFileWholeOrAbsent: smki keygen's key file is either whole
// (a P-256 PKCS#8 key, mode 0600) or absent: a write that fails part way
// (here the file-size limit, as a full disk would) leaves no partial key
// behind for a later csr or enroll to pick up; an existing file and a
// planted symlink are never written through.
func TestKeygenKeyFileWholeOrAbsent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	// A good key.
	good := filepath.Join(dir, "good.key")
	mustRun(t, nil, "keygen", "--out", good)
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		t.Fatalf("key file is not a PEM PRIVATE KEY:\n%s", b)
	}
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
		t.Fatalf("key: %v", err)
	} else if _, ok := k.(*ecdsa.PrivateKey); !ok {
		t.Fatalf("key is %T, want ECDSA", k)
	}
	if fi, err := os.Stat(good); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v %v, want 0600", fi.Mode(), err)
	}

	// A write that fails: no file-size room at all (ulimit -f 0; Go ignores
	// SIGXFSZ, so the write fails with EFBIG as on a full disk).
	torn := filepath.Join(dir, "torn.key")
	r := runCmd(t, nil, "sh", "-c", `ulimit -f 0; exec "$0" keygen --out "$1"`, smkiBin, torn)
	if r.code == 0 {
		t.Fatalf("keygen with no room to write: exit 0\n%s%s", r.stdout, r.stderr)
	}
	if _, err := os.Lstat(torn); !os.IsNotExist(err) {
		fi, _ := os.Lstat(torn)
		t.Errorf("keygen whose write failed left %s behind (%d bytes; err %v): a partial key", torn, fi.Size(), err)
	}
	if r.code != 1 || !strings.Contains(r.stderr, torn) {
		t.Errorf("keygen with no room to write: exit %d, want 1 (failed, as before) naming %s:\n%s", r.code, torn, r.stderr)
	}
	if m := librarytext.Find(r.stderr); m != "" {
		t.Errorf("keygen's write failure carries library text %q:\n%s", m, r.stderr)
	}

	// An existing file is never replaced.
	r = run(t, nil, "keygen", "--out", good)
	if after, _ := os.ReadFile(good); string(after) != string(b) {
		t.Fatal("keygen replaced an existing key")
	}
	if r.code != 2 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("keygen over an existing key: exit %d, want 2 saying it exists:\n%s", r.code, r.stderr)
	}
	if m := librarytext.Find(r.stderr); m != "" {
		t.Errorf("keygen over an existing key carries library text %q:\n%s", m, r.stderr)
	}

	// A symlink at --out is not followed, dangling or not.
	target := filepath.Join(dir, "elsewhere.key")
	link := filepath.Join(dir, "link.key")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if r := run(t, nil, "keygen", "--out", link); r.code != 2 {
		t.Errorf("keygen at a symlink: exit %d, want 2:\n%s", r.code, r.stderr)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("keygen followed the symlink at --out and created %s", target)
	}
}
