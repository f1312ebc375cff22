package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCAInitFailedLeavesNothing: a smki ca init that fails (a KMS URI or
// a CA name the operator got wrong) leaves nothing it created: no data
// directory it made, no store file (smki.db, smki.db.audit), no key
// files; what was there before stays. The same command then run right
// initialises the CA.
func TestCAInitFailedLeavesNothing(t *testing.T) {
	t.Parallel()
	pass := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 100)
	tests := []struct {
		name   string
		before []string // files in --data before (nil: no directory)
		bad    []string // the mistake
	}{
		{"new directory, CA name too long", nil, []string{"--root-cn", long}},
		{"empty directory, CA name too long", []string{}, []string{"--issuing-cn", long}},
		{"directory with a file, CA name too long", []string{"README"}, []string{"--root-cn", long}},
		{"new directory, PKCS#11 module misspelt", nil, []string{"--kms", "pkcs11:module-path=/nonexistent/libsofthsm2.so;token=smki?pin-value=1234"}},
		{"empty directory, PKCS#11 module misspelt", []string{}, []string{"--kms", "pkcs11:module-path=/nonexistent/libsofthsm2.so;token=smki?pin-value=1234"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			if tt.before != nil {
				if err := os.Mkdir(data, 0o700); err != nil {
					t.Fatal(err)
				}
				for _, f := range tt.before {
					if err := os.WriteFile(filepath.Join(data, f), []byte("mine"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			args := append([]string{"ca", "init", "--data", data, "--passphrase-file", pass}, tt.bad...)
			if code, stderr := mainStderr(args...); code == 0 {
				t.Fatalf("smki ca init %v: exit 0, want a failure (%s)", tt.bad, stderr)
			}
			var left []string
			_ = filepath.WalkDir(data, func(p string, d os.DirEntry, err error) error {
				if err == nil && p != data {
					rel, _ := filepath.Rel(data, p)
					left = append(left, rel)
				}
				return nil
			})
			if _, err := os.Stat(data); tt.before == nil && err == nil {
				t.Errorf("the failed init left the data directory it created, holding %v", left)
			} else if tt.before != nil && !slices.Equal(left, tt.before) {
				t.Errorf("the failed init left %v in the data directory, want what was there before: %v", left, tt.before)
			}
			if code, stderr := mainStderr("ca", "init", "--data", data, "--passphrase-file", pass); code != 0 {
				t.Fatalf("smki ca init run again right: exit %d %s", code, stderr)
			}
		})
	}
}
