package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
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
		if cmd.ProcessState != nil || exited(cmd.Process.Pid) {
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

// exited reports whether process pid has ended (a zombie nobody has
// waited for yet, or gone), without reaping it: the test, or launchServer's
// cleanup, still calls cmd.Wait. A server that exits at start-up is then
// reported at once with its log, not after launchServer's three minutes.
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return os.IsNotExist(err)
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// TestExitedSeesAnEndedServer: launchServer stops waiting as soon as the
// server it started has exited (it used to look at cmd.ProcessState,
// which only cmd.Wait sets, and so waited its full three minutes for a
// server that had exited at start-up), and does not take a running one
// for ended; cmd.Wait still works after exited has looked.
func TestExitedSeesAnEndedServer(t *testing.T) {
	t.Parallel()
	running := exec.Command("sleep", "30")
	ended := exec.Command("sh", "-c", "exit 3")
	for _, c := range []*exec.Cmd{running, ended} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer running.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for !exited(ended.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatal("a process that exited at once is not seen as ended after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if exited(running.Process.Pid) {
		t.Error("a running process is seen as ended")
	}
	if err := ended.Wait(); err == nil || ended.ProcessState.ExitCode() != 3 {
		t.Errorf("cmd.Wait after exited: %v (exit %d), want exit status 3", err, ended.ProcessState.ExitCode())
	}
}
