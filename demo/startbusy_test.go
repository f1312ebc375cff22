//go:build linux

package demo

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestStartRetriesTextFileBusy: an executable still open for writing
// (as in a child another goroutine is forking, golang.org/issue/22315)
// cannot be started (ETXTBSY); startRetryingBusy starts it once the
// writer lets go, within its second.
func TestStartRetriesTextFileBusy(t *testing.T) {
	t.Parallel()
	exe := fakeServe(t, "exit 0")
	w, err := os.OpenFile(exe, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(exe).Start(); err == nil {
		t.Fatal("started an executable open for writing; the kernel should answer ETXTBSY")
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		w.Close()
	}()
	cmd, err := startRetryingBusy(func() *exec.Cmd { return exec.Command(exe, filepath.Join(t.TempDir(), "ready")) })
	if err != nil {
		t.Fatalf("startRetryingBusy: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}
