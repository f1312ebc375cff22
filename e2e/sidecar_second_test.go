package e2e

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runSecondSidecar runs `smki verifier serve` with args, expecting it to
// refuse to start: it returns its exit code and output, and fails the
// test if it is still running after a bound (it started instead).
func runSecondSidecar(t *testing.T, args ...string) (int, string) {
	t.Helper()
	const bound = 15 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, smkiBin, append([]string{"verifier", "serve", "--listen", "127.0.0.1:0"}, args...)...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the second sidecar was still running after %s, want it refused at start:\n%s", bound, out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// TestSidecarSecondOnOneStateFile: a second `smki verifier serve` given
// the --state-file of a running one is refused at start (exit 2,
// E_REPLAY_STORE, "in use"), and the first keeps its counters. Both
// sharing the log, each would accept a counter the other had accepted,
// and each compaction would replace the other's records. A sidecar
// killed with SIGKILL leaves no lock behind: the next one starts on its
// file and refuses its accepted requests REPLAY.
func TestSidecarSecondOnOneStateFile(t *testing.T) {
	t.Parallel()
	pki := scenario(t)
	state := filepath.Join(t.TempDir(), "state.log")
	args := []string{"--trust", filepath.Join(pki, "trust"), "--bundle", filepath.Join(pki, "bundle.json"), "--state-file", state}
	first := startSidecarProc(t, args...)
	signed := []byte(signSCCredit(t, pki, 41))
	if d := postVerify(t, first.addr, signed); d.Decision != "accept" {
		t.Fatalf("first sidecar: %+v, want accept", d)
	}
	code, out := runSecondSidecar(t, args...)
	if code != 2 || !strings.Contains(out, "E_REPLAY_STORE") || !strings.Contains(out, "in use") {
		t.Fatalf("second sidecar on the same --state-file: exit %d\n%s\nwant exit 2, E_REPLAY_STORE, in use", code, out)
	}
	if d := postVerify(t, first.addr, signed); d.Code != "REPLAY" {
		t.Fatalf("the first sidecar after the refused second: %+v, want REPLAY", d)
	}
	first.kill()
	next := startSidecarProc(t, args...)
	if d := postVerify(t, next.addr, signed); d.Code != "REPLAY" {
		t.Fatalf("a sidecar started after SIGKILL on the same file: %+v, want REPLAY", d)
	}
}

// TestSidecarSecondOnOneSocket: a second `smki verifier serve` given the
// unix socket a running one listens on is refused at start (exit 2, "in
// use"), and the first still answers there. Before, the second removed
// the socket as one left by an earlier run and listened in its place:
// the first, still running, was cut off from its command path, and its
// state (without --state-file, its replay counters) with it.
func TestSidecarSecondOnOneSocket(t *testing.T) {
	t.Parallel()
	pki := scenario(t)
	sock := filepath.Join(t.TempDir(), "v.sock")
	args := []string{"--trust", filepath.Join(pki, "trust"), "--bundle", filepath.Join(pki, "bundle.json"), "--listen", "unix:" + sock}
	first := startSidecarProc(t, args...)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	signed := []byte(signSCCredit(t, pki, 41))
	if d := postVerifyVia(t, c, "http://sidecar", signed); d.Decision != "accept" {
		t.Fatalf("first sidecar: %+v, want accept", d)
	}
	code, out := runSecondSidecar(t, args...)
	if code != 2 || !strings.Contains(out, "in use") {
		t.Fatalf("second sidecar on the same socket: exit %d\n%s\nwant exit 2, in use", code, out)
	}
	// The first still answers on the socket, with its memory.
	if d := postVerifyVia(t, c, "http://sidecar", signed); d.Code != "REPLAY" {
		t.Fatalf("the first sidecar after the refused second: %+v, want REPLAY", d)
	}
	select {
	case <-first.exited:
		t.Fatal("the first sidecar exited")
	default:
	}
}

// TestSidecarSocketOutlivesPredecessor: a sidecar started on the unix
// socket of one that is shutting down (SIGTERM, still finishing a request
// in flight) keeps its socket when the first exits. Before, the first
// removed the socket path once its last request was done, whoever's
// socket it was by then: the new sidecar, running, was unreachable.
func TestSidecarSocketOutlivesPredecessor(t *testing.T) {
	t.Parallel()
	pki := scenario(t)
	sock := filepath.Join(t.TempDir(), "v.sock")
	args := []string{"--trust", filepath.Join(pki, "trust"), "--bundle", filepath.Join(pki, "bundle.json"), "--listen", "unix:" + sock}
	first := startSidecarProc(t, args...)
	signed := []byte(signSCCredit(t, pki, 41))
	// A request in flight: headers and half the body.
	conn, err := net.DialTimeout("unix", sock, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := inFlight(t, conn, signed)
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the first sidecar to stop listening", func() bool {
		c, err := net.DialTimeout("unix", sock, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	startSidecarProc(t, args...)
	// The first finishes its request and exits.
	if _, err := conn.Write(signed[half.n:]); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(half.r, nil); err != nil {
		t.Fatalf("the request in flight at SIGTERM: %v", err)
	} else {
		resp.Body.Close()
	}
	select {
	case <-first.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the first sidecar did not exit")
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	if code := status(c, "http://sidecar/readyz"); code != 200 {
		t.Fatalf("the second sidecar after the first exited: /readyz %d, want 200 (its socket removed?)", code)
	}
}

// TestSidecarDamagedStateFile: a state file damaged before its last whole
// group (a zero byte in the record of an accepted request: a disk fault)
// refuses the sidecar's start (exit 2, E_STATE_DAMAGED, naming
// --state-recover) and is left as it is; before, the records after the
// damage were silently dropped and the requests they recorded could be
// replayed. With --state-recover it starts from the intact records,
// keeps the damaged file beside it, and still refuses the replays.
func TestSidecarDamagedStateFile(t *testing.T) {
	t.Parallel()
	pki := scenario(t)
	state := filepath.Join(t.TempDir(), "state.log")
	args := []string{"--trust", filepath.Join(pki, "trust"), "--bundle", filepath.Join(pki, "bundle.json"), "--state-file", state}
	first := startSidecarProc(t, args...)
	var signed [][]byte
	for c := 41; c <= 43; c++ {
		signed = append(signed, []byte(signSCCredit(t, pki, c)))
		if d := postVerify(t, first.addr, signed[len(signed)-1]); d.Decision != "accept" {
			t.Fatalf("counter %d: %+v, want accept", c, d)
		}
	}
	first.kill()
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(" 41 "))
	if i < 0 {
		t.Fatalf("no record of counter 41 in the state file:\n%q", data)
	}
	data[i+1] = 0
	if err := os.WriteFile(state, data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runSecondSidecar(t, args...)
	if code != 2 || !strings.Contains(out, "E_STATE_DAMAGED") || !strings.Contains(out, "--state-recover") {
		t.Fatalf("sidecar on a damaged state file: exit %d\n%s\nwant exit 2, E_STATE_DAMAGED naming --state-recover", code, out)
	}
	if after, _ := os.ReadFile(state); !bytes.Equal(after, data) {
		t.Fatal("the refused state file was changed")
	}
	next := startSidecarProc(t, append(args, "--state-recover")...)
	for k, s := range signed {
		if d := postVerify(t, next.addr, s); d.Code != "REPLAY" {
			t.Fatalf("request %d after --state-recover: %+v, want REPLAY", k, d)
		}
	}
	if kept, err := os.ReadFile(state + ".damaged"); err != nil || !bytes.Equal(kept, data) {
		t.Fatalf("the damaged state file was not kept as %s.damaged (%v)", state, err)
	}
}

// TestSidecarRestoredStateFile: a state file restored from a backup older
// than what the sidecar last wrote is refused at start (exit 2,
// E_STATE_ROLLBACK, naming --state-recover), and so is one whose mark
// (FILE.mark) is missing; before, both started and accepted again every
// request accepted after the copy was made. With --state-recover the
// sidecar adopts the file (an operator's decision), and the request the
// copy knew stays REPLAY.
func TestSidecarRestoredStateFile(t *testing.T) {
	t.Parallel()
	pki := scenario(t)
	state := filepath.Join(t.TempDir(), "state.log")
	args := []string{"--trust", filepath.Join(pki, "trust"), "--bundle", filepath.Join(pki, "bundle.json"), "--state-file", state}
	first := startSidecarProc(t, args...)
	accept := func(addr string, c int) []byte {
		t.Helper()
		s := []byte(signSCCredit(t, pki, c))
		if d := postVerify(t, addr, s); d.Decision != "accept" {
			t.Fatalf("counter %d: %+v, want accept", c, d)
		}
		return s
	}
	known := accept(first.addr, 51)
	backup, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	accept(first.addr, 52)
	accept(first.addr, 53)
	syscall.Kill(first.cmd.Process.Pid, syscall.SIGTERM)
	<-first.exited
	if err := os.WriteFile(state, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runSecondSidecar(t, args...)
	if code != 2 || !strings.Contains(out, "E_STATE_ROLLBACK") || !strings.Contains(out, "--state-recover") {
		t.Fatalf("sidecar on a restored backup: exit %d\n%s\nwant exit 2, E_STATE_ROLLBACK naming --state-recover", code, out)
	}
	mark, err := os.ReadFile(state + ".mark")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(state + ".mark")
	if code, out := runSecondSidecar(t, args...); code != 2 || !strings.Contains(out, "E_STATE_ROLLBACK") {
		t.Fatalf("sidecar on a state file without its mark: exit %d\n%s\nwant exit 2, E_STATE_ROLLBACK", code, out)
	}
	os.WriteFile(state+".mark", mark, 0o600)
	next := startSidecarProc(t, append(args, "--state-recover")...)
	if d := postVerify(t, next.addr, known); d.Code != "REPLAY" {
		t.Fatalf("the backup's request after --state-recover: %+v, want REPLAY", d)
	}
}
