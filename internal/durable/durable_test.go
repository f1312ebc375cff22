package durable

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteNew(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "key.pem")
	if err := WriteNew(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteNew(p, []byte("two"), 0o600); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second WriteNew: %v, want os.ErrExist", err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "one" {
		t.Fatalf("content %q %v: an existing file was replaced", b, err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v, want 0600", fi.Mode(), err)
	}
	if err := WriteNew(filepath.Join(dir, "absent", "x"), nil, 0o600); err == nil {
		t.Fatal("WriteNew into a missing directory succeeded")
	}
}

func TestReplace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "ref")
	for _, tc := range []struct {
		data string
		mode os.FileMode
	}{{"first", 0o600}, {"second, longer", 0o644}, {"", 0o600}} {
		if err := Replace(p, []byte(tc.data), tc.mode); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != tc.data {
			t.Fatalf("content %q %v, want %q", b, err, tc.data)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != tc.mode {
			t.Fatalf("mode %v, want %v", fi.Mode().Perm(), tc.mode)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	// A rename that cannot happen (path is a non-empty directory) leaves
	// no temporary file behind.
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Replace(sub, []byte("x"), 0o600); err == nil {
		t.Fatal("Replace over a directory succeeded")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Fatalf("temporary files left after a failure: %v", left)
	}
}

func TestRemoveAndSync(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteNew(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SyncFile(p); err != nil {
		t.Fatal(err)
	}
	if err := Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("still there: %v", err)
	}
	if err := Remove(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Remove of a missing file: %v", err)
	}
	if err := SyncDir(filepath.Join(dir, "absent")); err == nil {
		t.Fatal("SyncDir of a missing directory succeeded")
	}
}

// TestReplaceFromAndMkdirAll: a fill that fails leaves path as it was and
// no temporary file; one that succeeds replaces it with the mode asked.
// MkdirAll makes every missing directory with its mode.
func TestReplaceFromAndMkdirAll(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := MkdirAll(sub, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(dir, "a"), sub} {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
			t.Fatalf("%s: %v %v, want a directory 0750", d, fi, err)
		}
	}
	if err := MkdirAll(sub, 0o750); err != nil {
		t.Fatalf("MkdirAll of an existing directory: %v", err)
	}
	p := filepath.Join(sub, "export")
	if err := Replace(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := ReplaceFrom(p, 0o644, func(w io.Writer) error { w.Write([]byte("half")); return boom }); !errors.Is(err, boom) {
		t.Fatalf("ReplaceFrom with a failing fill = %v, want its error", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("after a failed fill %q, want the old content", b)
	}
	if left, _ := filepath.Glob(filepath.Join(sub, ".*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if err := ReplaceFrom(p, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatalf("content %q, want new", b)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", fi.Mode().Perm())
	}
}
