package durable

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDataDirWritersUseDurable: the packages that write smki serve's and
// smki ca init's data directory (CA keys, the RA's own keys and
// certificates, officer credentials, the serve ready file), the CLI verbs
// that write an operator's files (an ARL for the online side, an audit
// export, a backup, --out) and smki testpki's scenario directory write
// files only through this package, so each is synced, file and
// directory, and a crash leaves it whole or absent, never half-written.
// A direct os.WriteFile, os.OpenFile, os.Create or os.CreateTemp there is
// a write that skipped it; the listed exceptions say why they may.
func TestDataDirWritersUseDurable(t *testing.T) {
	t.Parallel()
	direct := regexp.MustCompile(`\bos\.(WriteFile|OpenFile|Create|CreateTemp)\(`)
	allowed := map[string]string{
		"server/ready.go":              "the /readyz disk probe, removed at once",
		"cli/verb/output.go":           "CheckOut's and MakeOutDir's probes of a directory, removed at once",
		"cli/storecmd/store_backup.go": "the backup's .partial (exclusive, synced, checked as a store before its rename, then the directory synced) and the throwaway working copy in TMPDIR",
	}
	pkgs := []string{"ca", "ra/ownpki", "server", "internal/credential", "cli", "testpki"}
	verbs, err := filepath.Glob(filepath.Join("..", "..", "cli", "*", "doc.go"))
	if err != nil || len(verbs) == 0 {
		t.Fatalf("no cli verb packages (%v)", err)
	}
	for _, d := range verbs {
		pkgs = append(pkgs, filepath.ToSlash(strings.TrimPrefix(filepath.Dir(d), filepath.Join("..", "..")+string(filepath.Separator))))
	}
	for _, pkg := range pkgs {
		files, err := filepath.Glob(filepath.Join("..", "..", pkg, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", pkg, err)
		}
		for _, f := range files {
			rel := filepath.ToSlash(strings.TrimPrefix(f, filepath.Join("..", "..")+string(filepath.Separator)))
			if strings.HasSuffix(f, "_test.go") || allowed[rel] != "" {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(string(b), "\n") {
				if direct.MatchString(line) && !strings.HasPrefix(strings.TrimSpace(line), "//") {
					t.Errorf("%s:%d writes a file without internal/durable: %s", rel, i+1, strings.TrimSpace(line))
				}
			}
		}
	}
}
