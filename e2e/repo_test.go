package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
)

// maxTrackedFile is the largest file the repository may hold: source,
// docs and test data, never a build output.
const maxTrackedFile = 1 << 20

// TestRepositoryHoldsNoBinary: no tracked file is over 1 MB or an
// executable binary (ELF, Mach-O, PE).
func TestRepositoryHoldsNoBinary(t *testing.T) {
	t.Parallel()
	need.Tool(t, "git", "git")
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(self))
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		need.Missing(t, "a git checkout", err.Error())
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		p := filepath.Join(root, name)
		fi, err := os.Stat(p)
		if err != nil {
			continue // deleted in the work tree, not yet committed
		}
		if fi.Size() > maxTrackedFile {
			t.Errorf("%s: %d bytes tracked; build outputs belong in bin/ or dist/ (.gitignore)", name, fi.Size())
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 4)
		n, _ := f.Read(head)
		f.Close()
		h := string(head[:n])
		if h == "\x7fELF" || h == "\xcf\xfa\xed\xfe" || strings.HasPrefix(h, "MZ") {
			t.Errorf("%s: an executable is tracked", name)
		}
	}
}
