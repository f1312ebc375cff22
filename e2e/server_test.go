package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/internal/need"
)

// server is a running `smki serve` process.
type server struct {
	addr   string
	data   string
	log    string // the server's stdout and stderr
	client *http.Client
	cmd    *exec.Cmd
}

// startServer runs cmd (which must start `smki serve` with the environment
// it is given) and waits until it is serving.
func startServer(t *testing.T, cmd *exec.Cmd, data string) *server {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	cmd.Env = append(os.Environ(), "SMKI_DATA="+data, "SMKI_LISTEN=127.0.0.1:0", "SMKI_READY_FILE="+ready)
	return launchServer(t, cmd, data, ready)
}

// launchServer starts cmd, a `smki serve` that writes its address to
// ready, stops it when the test ends, and waits until it is serving.
func launchServer(t *testing.T, cmd *exec.Cmd, data, ready string) *server {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("server log:\n%s", b)
		}
	})
	deadline := time.Now().Add(3 * time.Minute)
	var addr []byte
	for time.Now().Before(deadline) {
		if addr, err = os.ReadFile(ready); err == nil && len(addr) > 0 {
			break
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(addr) == 0 {
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("server did not become ready:\n%s", b)
	}
	rootPEM, err := os.ReadFile(filepath.Join(data, "access", "access-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(rootPEM) {
		t.Fatal("no TLS root")
	}
	return &server{addr: string(addr), data: data, cmd: cmd, log: logf.Name(),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
}

func (s *server) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, err := s.client.Get("https://" + s.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestMakeRun runs the README's `make run` on a fresh data directory and
// checks what it serves: health, roots, and CRLs that openssl verifies.
func TestMakeRun(t *testing.T) {
	t.Parallel()
	requirement(t, "L8", "L5")
	openssl := need.Tool(t, "openssl", "openssl")
	need.Tool(t, "make", "make")
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(self))
	data := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command("make", "--no-print-directory", "-C", root, "run")
	s := startServer(t, cmd, data)

	if code, body := s.get(t, "/healthz"); code != 200 || !strings.Contains(string(body), "ok") {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	code, roots := s.get(t, "/roots")
	if code != 200 || !strings.Contains(string(roots), "BEGIN CERTIFICATE") {
		t.Fatalf("/roots: %d %s", code, roots)
	}
	dir := t.TempDir()
	rootFile := filepath.Join(dir, "root.pem")
	os.WriteFile(rootFile, roots, 0o644)
	code, issuingPEM := s.get(t, "/ca/issuing.pem")
	if code != 200 || !strings.Contains(string(issuingPEM), "BEGIN CERTIFICATE") {
		t.Fatalf("/ca/issuing.pem: %d %s", code, issuingPEM)
	}
	for _, crl := range []string{"arl", "orl"} {
		code, der := s.get(t, "/crl/"+crl+".crl")
		if code != 200 || len(der) == 0 {
			t.Fatalf("/crl/%s.crl: %d", crl, code)
		}
		f := filepath.Join(dir, crl+".crl")
		os.WriteFile(f, der, 0o644)
		ca := rootFile
		if crl == "orl" {
			ca = filepath.Join(dir, "issuing.pem")
			os.WriteFile(ca, issuingPEM, 0o644)
		}
		r := runCmd(t, nil, openssl, "crl", "-inform", "DER", "-in", f, "-CAfile", ca, "-noout", "-verify")
		if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "verify OK") {
			t.Errorf("openssl crl -verify %s: %s %s", crl, r.stdout, r.stderr)
		}
	}
}
