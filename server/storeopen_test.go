package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// TestOpenStoreRefusals: a bbolt store that cannot be opened at start
// fails with the store's code and a sentence saying what to do, never
// bbolt's bare "bolt: open PATH: ..." text. The lock (a second holder of
// DATA/smki.db) and the permission refusal are real starts of Open (as
// root, which ignores file modes, a sysfs path stands in for a file the
// user may not write); a read-only file system needs a mount, so that case
// gives storeOpenError the error bolt.Open returns for one.
func TestOpenStoreRefusals(t *testing.T) {
	t.Parallel()
	start := func(t *testing.T, data, storeSpec string) error {
		s, err := Open(context.Background(), Config{DataDir: data, Store: storeSpec, Listen: "127.0.0.1:0", Dev: true})
		if err == nil {
			s.Close()
		}
		return err
	}

	lockedData := t.TempDir()
	holder, err := bolt.Open(StorePath(lockedData), bolt.WithLockTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()

	deniedData := t.TempDir()
	denied := filepath.Join(deniedData, "ro", "smki.db")
	if os.Geteuid() == 0 {
		denied = "/sys/smki-test-denied.db" // sysfs refuses to create files, even to root
	} else {
		os.Mkdir(filepath.Dir(denied), 0o500)
	}

	rofs := "/var/lib/smki/smki.db"
	rofsErr := storeOpenError(StoreSpec{Engine: "bbolt", Target: rofs},
		bolt.OpenError(rofs, &fs.PathError{Op: "open", Path: rofs, Err: syscall.EROFS}))

	tests := []struct {
		name  string
		err   error
		code  error
		wants []string
	}{
		{"locked by another smki serve", start(t, lockedData, ""), bolt.ErrLocked,
			[]string{"E_STORE_LOCKED", StorePath(lockedData), "another smki serve", "stop it", "--data"}},
		{"permission denied", start(t, deniedData, "bbolt:"+denied), bolt.ErrPermission,
			[]string{"E_STORE_PERMISSION", denied, "permission", "--data"}},
		{"read-only file system", rofsErr, store.ErrReadOnly,
			[]string{"E_STORE_READ_ONLY", rofs, "read-only file system", "ReadWritePaths"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.code) {
				t.Fatalf("got %v, want %v", tt.err, tt.code)
			}
			msg := fmt.Sprint(tt.err)
			for _, w := range tt.wants {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "bolt:") {
				t.Errorf("message %q shows bbolt's own text", msg)
			}
		})
	}
}
