package e2e

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/need"
)

// TestFinding12StoreFull is issue 12's finding 12 on the real binary: the
// data directory on a 48 MiB tmpfs, filled up while the server runs. A
// write then answers 503 E_STORE_FULL (not 500), GET /readyz answers 503
// naming the full store while /healthz stays up (liveness), and
// smki_server_ready is 0; once space is freed, /readyz is ready again and
// the same write succeeds, without a restart.
func TestFinding12StoreFull(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		need.Missing(t, "root", "mounting a size-limited tmpfs for the data directory needs root")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		need.Missing(t, "tmpfs mount", strings.TrimSpace(string(out)))
	}
	data := filepath.Join(mnt, "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev", "--min-free-mb", "1"), data)
	// Cleanups run last-in first-out: this one before the server is
	// stopped, so unmount lazily (the server still holds files there).
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
	ra.must("party", "create", "--id", "90-B3-D5-1F-30-00-00-0A", "--name", "before-full")
	if code, body := srv.get(t, "/readyz"); code != 200 || !strings.Contains(string(body), `"ready"`) {
		t.Fatalf("/readyz before the disk is full: %d %s", code, body)
	}

	// Fill the filesystem to the last byte.
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the tmpfs: %v", err)
			}
			break
		}
	}
	for n := 4096; n > 0; n /= 2 { // the last partial megabyte
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
	f.Close()

	// A write now fails for lack of space: 503 E_STORE_FULL, exit 1
	// (a server fault, not a refusal), a sentence saying what to do.
	var r result
	for i := range 20 { // users until the store's next page needs new space
		r = ra.run("user", "create", "--id", "90-B3-D5-1F-30-00-01-"+strings.ToUpper(hex2(i)), "--party", "90-B3-D5-1F-30-00-00-0A", "--role", "IS", "--name", strings.Repeat("x", 190))
		if r.code != 0 {
			break
		}
	}
	if r.code != 1 || !strings.Contains(r.stderr, "E_STORE_FULL") || !strings.Contains(r.stderr, "free space") {
		t.Fatalf("a write on a full disk: exit %d\n%s%s; want exit 1 with E_STORE_FULL and what to do", r.code, r.stdout, r.stderr)
	}
	code, body := srv.get(t, "/readyz")
	t.Logf("full: %s/readyz: %d %s", r.stderr, code, body)
	if code != 503 || !strings.Contains(string(body), "store:") {
		t.Fatalf("/readyz on a full disk: %d %s; want 503 naming the store", code, body)
	}
	if code, body := srv.get(t, "/healthz"); code != 200 {
		t.Fatalf("/healthz (liveness) on a full disk: %d %s", code, body)
	}
	officerTLS, err := credential.ClientTLS(ra.officer)
	if err != nil {
		t.Fatal(err)
	}
	officer := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: officerTLS}}
	if _, m := getBody(t, officer, "https://"+srv.addr+"/metrics"); !strings.Contains(m, "\nsmki_server_ready 0") {
		t.Errorf("smki_server_ready is not 0 on a full disk")
	}

	// Space back: ready again, and the same kind of write succeeds.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body = srv.get(t, "/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after freeing space: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ra.must("party", "create", "--id", "90-B3-D5-1F-30-00-00-0B", "--name", "after-full")
	ra.must("audit", "verify")
}

func hex2(i int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[i>>4&15], digits[i&15]})
}
