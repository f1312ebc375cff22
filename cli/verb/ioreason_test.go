package verb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIOReason: each real file-system failure is put in words that say
// what is in the way: a file already there where one was to be created
// is not "a directory"; a directory where a file was to be written is.
func TestIOReason(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		op   func() error
		want string
	}{
		{"create over an existing file", func() error {
			f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err == nil {
				f.Close()
			}
			return err
		}, "a file of that name is already there"},
		{"write to a directory", func() error { return os.WriteFile(dir, []byte("x"), 0o600) }, "a directory is in the way"},
		{"missing directory", func() error { return os.WriteFile(filepath.Join(dir, "no", "f"), nil, 0o600) }, "its directory does not exist"},
		{"directory over a file", func() error { return os.Mkdir(file, 0o700) }, "a file of that name is already there"},
	} {
		err := tc.op()
		if err == nil {
			t.Fatalf("%s: no error", tc.name)
		}
		if got := IOReason(err); !strings.Contains(got, tc.want) {
			t.Errorf("%s (%v): IOReason = %q, want %q", tc.name, err, got, tc.want)
		}
	}
}
