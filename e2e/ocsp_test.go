package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
)

// TestOCSPWithOpenSSL: the real binary's /ocsp answers real openssl:
// good (signature verified against the Root OCA through the delegated
// responder certificate) for a certificate the Issuing OCA issued,
// unknown for a serial it never issued; curl's garbage body gets
// malformedRequest.
func TestOCSPWithOpenSSL(t *testing.T) {
	t.Parallel()
	openssl := need.Tool(t, "openssl", "openssl")
	curl := need.Tool(t, "curl", "curl")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	dir := t.TempDir()
	for name, path := range map[string]string{"issuing.pem": "/ca/issuing.pem", "root.pem": "/roots"} {
		code, body := srv.get(t, path)
		if code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	url := "https://" + srv.addr + "/ocsp"
	ask := func(target ...string) string {
		args := append([]string{"ocsp", "-issuer", filepath.Join(dir, "issuing.pem"), "-url", url,
			"-CAfile", filepath.Join(dir, "root.pem")}, target...)
		out, err := exec.Command(openssl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	signer := filepath.Join(data, "ra", "system-signer.pem")
	if out := ask("-cert", signer); !strings.Contains(out, "Response verify OK") || !strings.Contains(out, signer+": good") {
		t.Errorf("issued certificate:\n%s", out)
	}
	if out := ask("-serial", "0x1234"); !strings.Contains(out, "Response verify OK") || !strings.Contains(out, "0x1234: unknown") {
		t.Errorf("never-issued serial:\n%s", out)
	}
	out, err := exec.Command(curl, "-sk", "-X", "POST", "-H", "Content-Type: application/ocsp-request",
		"--data-binary", "garbage", url).Output()
	if err != nil || !bytes.Equal(out, []byte{0x30, 0x03, 0x0a, 0x01, 0x01}) {
		t.Errorf("garbage body: %x, %v; want malformedRequest (30030a0101)", out, err)
	}
}
