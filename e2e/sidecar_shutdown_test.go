package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSidecarGracefulShutdown: SIGTERM lets a request in flight finish.
// A client has sent the headers and half the body of a request when the
// sidecar is told to stop; it sends the rest after, and gets the decision
// (accept), not a cut connection; the sidecar then exits 0 with no ERROR
// logged, and the counter it accepted is REPLAY after a restart on the
// same --state-file (the accept was made durable before it was answered,
// and the state file was closed cleanly). New connections are refused
// once it has stopped listening.
func TestSidecarGracefulShutdown(t *testing.T) {
	t.Parallel()
	pki := scenario(t)
	state := filepath.Join(t.TempDir(), "state.log")
	args := []string{"--trust", filepath.Join(pki, "trust"), "--bundle", filepath.Join(pki, "bundle.json"), "--state-file", state}
	p := startSidecarProc(t, args...)
	signed := []byte(signSCCredit(t, pki, 41))

	conn, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := inFlight(t, conn, signed)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Stopped listening: a new connection is refused (polled, not slept).
	waitFor(t, 30*time.Second, "the sidecar to stop listening after SIGTERM", func() bool {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	if _, err := conn.Write(signed[half.n:]); err != nil {
		t.Fatalf("the rest of the request in flight at SIGTERM: %v", err)
	}
	resp, err := http.ReadResponse(half.r, nil)
	if err != nil {
		t.Fatalf("the request in flight at SIGTERM got no answer: %v", err)
	}
	var d decision
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != 200 || d.Decision != "accept" {
		t.Fatalf("the request in flight at SIGTERM: %d %+v %v, want 200 accept", resp.StatusCode, d, err)
	}
	resp.Body.Close()
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the sidecar did not exit after SIGTERM and its last request")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
	if log := string(mustReadFile(t, p.log)); strings.Contains(log, `"level":"ERROR"`) {
		t.Fatalf("ERROR logged by a graceful shutdown:\n%s", log)
	}
	next := startSidecarProc(t, args...)
	if d := postVerify(t, next.addr, signed); d.Code != "REPLAY" {
		t.Fatalf("after the restart: %+v, want REPLAY", d)
	}
}

// inFlightRequest is a POST /v1/verify the sidecar's handler is reading:
// n bytes of the body sent, the answer to come on r.
type inFlightRequest struct {
	n int
	r *bufio.Reader
}

// inFlight starts POST /v1/verify of body on conn and returns once the
// sidecar's handler is reading it (it asked for the body: 100 Continue),
// with half the body sent. A request only written, not yet accepted by
// the server, may be dropped with the listen queue at shutdown, and one
// whose headers the server has not yet read counts as idle to it.
func inFlight(t *testing.T, conn net.Conn, body []byte) inFlightRequest {
	t.Helper()
	conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := fmt.Fprintf(conn, "POST /v1/verify HTTP/1.1\r\nHost: sidecar\r\nContent-Type: application/xml\r\n"+
		"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n", len(body)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("waiting for 100 Continue: %q %v", line, err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "\r\n" {
		t.Fatalf("after 100 Continue: %q %v", line, err)
	}
	half := len(body) / 2
	if _, err := conn.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	return inFlightRequest{n: half, r: r}
}

// TestSidecarShutdownGraceCut: a request still in flight when the
// shutdown's grace (5 s) has passed is cut, and the sidecar says so with
// a code and what it means (exit 1, E_VERIFIER_SHUTDOWN). Before, it
// exited with Go's bare "context deadline exceeded".
func TestSidecarShutdownGraceCut(t *testing.T) {
	t.Parallel()
	pki := scenario(t)
	p := startSidecarProc(t, "--trust", filepath.Join(pki, "trust"), "--bundle", filepath.Join(pki, "bundle.json"),
		"--state-file", filepath.Join(t.TempDir(), "state.log"))
	conn, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	inFlight(t, conn, []byte(signSCCredit(t, pki, 41))) // the rest never comes
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
		t.Fatal("the sidecar did not exit after SIGTERM and its grace")
	}
	log := string(mustReadFile(t, p.log))
	if code := p.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(log, "E_VERIFIER_SHUTDOWN") || strings.Contains(log, "context deadline exceeded") {
		t.Fatalf("exit %d after cutting a request at the end of the grace, want 1 with E_VERIFIER_SHUTDOWN and no bare Go error:\n%s", code, log)
	}
}
