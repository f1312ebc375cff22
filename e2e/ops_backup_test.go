package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
)

// TestStoreBackupOutRefused: `smki store backup` to a disk that fills up
// mid-copy, or into a directory that does not exist, fails with
// E_BACKUP_WRITE naming the cause (not the RA as unreachable, which a
// retry would not cure) and leaves neither --out nor a partial file.
func TestStoreBackupOutRefused(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		need.Missing(t, "root", "mounting a size-limited tmpfs for the backup needs root")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=32k,mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		need.Missing(t, "tmpfs mount", strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	_, _, ra := devRA(t)

	for _, tc := range []struct {
		name, out, reason string
		code              int
	}{
		{"disk full", filepath.Join(mnt, "smki.db"), "the disk is full", 1},
		{"no directory", filepath.Join(t.TempDir(), "gone", "smki.db"), "its directory does not exist", 2},
	} {
		r := ra.run("store", "backup", "--out", tc.out)
		if r.code != tc.code || !strings.Contains(r.stderr, "E_BACKUP_WRITE") || !strings.Contains(r.stderr, tc.reason) ||
			strings.Contains(r.stderr, "E_RA_UNREACHABLE") {
			t.Errorf("%s: exit %d (want %d), stderr %q, want E_BACKUP_WRITE and %q", tc.name, r.code, tc.code, r.stderr, tc.reason)
		}
		for _, p := range []string{tc.out, tc.out + ".partial"} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s: %s left behind", tc.name, p)
			}
		}
	}
}
