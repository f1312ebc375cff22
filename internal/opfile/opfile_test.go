package opfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/smki/smki/internal/opfile"
)

// TestRead: a file at its cap is read, one byte over is refused with the
// code, the path and the cap, whether a regular file (by its size) or a
// pipe (after cap+1 bytes); a missing file is the os package's error.
func TestRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const max = 4096
	write := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("x", n)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skipf("no FIFO here: %v", err)
		}
		go func() {
			w, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			defer w.Close()
			w.Write([]byte(strings.Repeat("y", n))) // stops with EPIPE once the reader has gone
		}()
		return p
	}
	for _, tc := range []struct {
		name    string
		path    string
		want    int // bytes read, or -1 for too large
		missing bool
	}{
		{"at the cap", write("at", max), max, false},
		{"empty", write("empty", 0), 0, false},
		{"one over the cap", write("over", max+1), -1, false},
		{"a pipe at the cap", fifo("pipe-at", max), max, false},
		{"a pipe without end", fifo("pipe-over", 64*max), -1, false},
		{"missing", filepath.Join(dir, "none"), 0, true},
	} {
		b, err := opfile.Read(tc.path, max)
		switch {
		case tc.missing:
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: err %v, want fs.ErrNotExist", tc.name, err)
			}
		case tc.want < 0:
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			if !errors.Is(err, opfile.ErrTooLarge) || !strings.HasPrefix(msg, "E_FILE_TOO_LARGE: "+tc.path+" ") || !strings.Contains(msg, strconv.Itoa(max)+" bytes") {
				t.Errorf("%s: read %d bytes, err %v; want E_FILE_TOO_LARGE naming %s and %d", tc.name, len(b), err, tc.path, max)
			}
		case err != nil || len(b) != tc.want:
			t.Errorf("%s: read %d bytes, err %v; want %d", tc.name, len(b), err, tc.want)
		}
	}
}

// TestReadRefusesBySize: a regular file over the cap is refused without
// being read (a sparse file of 1 GiB allocates next to nothing).
func TestReadRefusesBySize(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := opfile.Read(p, opfile.MaxConfig); !errors.Is(err, opfile.ErrTooLarge) {
			t.Fatalf("err %v, want E_FILE_TOO_LARGE", err)
		}
	})
	if allocs > 20 {
		t.Errorf("refusing a 1 GiB file made %.0f allocations; want a handful", allocs)
	}
}
