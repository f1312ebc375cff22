package bolt_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// TestOpenErrorCodes: a file that cannot be opened fails with a stable
// code, not bbolt's bare text: another holder of the lock is ErrLocked, a
// read-only file system store.ErrReadOnly, a permission refusal
// ErrPermission. The lock and the permission refusal are real (as root,
// which ignores file modes, a sysfs path stands in for a directory the
// user may not write); a read-only file system needs a mount, so that
// case classifies the error bbolt returns for one.
func TestOpenErrorCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	held := filepath.Join(dir, "held.db")
	s, err := bolt.Open(held)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	denied := filepath.Join(dir, "ro", "smki.db")
	if os.Geteuid() == 0 {
		denied = "/sys/smki-test-denied.db" // sysfs refuses to create files, even to root
	} else {
		os.Mkdir(filepath.Dir(denied), 0o500)
	}
	_, lockErr := bolt.Open(held, bolt.WithLockTimeout(50*time.Millisecond))
	_, permErr := bolt.Open(denied)
	rofs := filepath.Join(dir, "rofs.db")
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"locked", lockErr, bolt.ErrLocked},
		{"permission denied", permErr, bolt.ErrPermission},
		{"read-only file system", bolt.OpenError(rofs, &fs.PathError{Op: "open", Path: rofs, Err: syscall.EROFS}), store.ErrReadOnly},
		{"EPERM", bolt.OpenError(rofs, &fs.PathError{Op: "open", Path: rofs, Err: syscall.EPERM}), bolt.ErrPermission},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.err, tt.want)
		}
	}
}
