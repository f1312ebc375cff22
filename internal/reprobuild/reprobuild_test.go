package reprobuild

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
)

const root = "../.."

// copyTree copies the files git knows (tracked, and new ones not
// ignored) from root into dir.
func copyTree(t *testing.T, git, dir string) {
	t.Helper()
	out, err := exec.Command(git, "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDistReproducible: make dist for linux/amd64 in two directories
// gives byte-identical binaries. The version is fixed (a test tree may be
// dirty, and make dist refuses a dirty version); everything else is what
// make dist itself sets. The Go build cache makes the second build cheap.
func TestDistReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the release binary twice")
	}
	need.Tool(t, "gcc", "gcc")
	mk := need.Tool(t, "make", "make")
	git := need.Tool(t, "git", "git")
	base := t.TempDir()
	dirs := []string{filepath.Join(base, "a"), filepath.Join(base, "a-much-longer-directory-name", "smki")}
	var bins [][]byte
	for i, d := range dirs {
		copyTree(t, git, d)
		cmd := exec.Command(mk, "-s", "dist", "DIST_ARCHES=amd64", "VERSION=v0.0.0-repro",
			"REVISION=0123456789abcdef0123456789abcdef01234567", "COMMIT_TIME=2026-01-02T03:04:05Z")
		cmd.Dir = d
		if i == 1 {
			// The builder's environment must not reach the binary: make
			// dist fixes what changes code generation (DIST_ENV).
			cmd.Env = append(os.Environ(), "GOAMD64=v3", "CGO_CFLAGS=-O0 -g")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make dist in %s: %v\n%s", d, err, out)
		}
		b, err := os.ReadFile(filepath.Join(d, "dist", "smki-v0.0.0-repro-linux-amd64"))
		if err != nil {
			t.Fatal(err)
		}
		bins = append(bins, b)
	}
	if !bytes.Equal(bins[0], bins[1]) {
		n := 0
		for n < len(bins[0]) && n < len(bins[1]) && bins[0][n] == bins[1][n] {
			n++
		}
		t.Fatalf("make dist built different binaries in %s and %s (%d and %d bytes, first difference at byte %d)",
			dirs[0], dirs[1], len(bins[0]), len(bins[1]), n+1)
	}
}
