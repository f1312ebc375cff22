package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrServer: the child `smki serve` did not start, or died.
var ErrServer = errors.New("E_DEMO_SERVER")

// server is a child `smki serve --dev` of the same binary.
type server struct {
	cmd  *exec.Cmd
	addr string // host:port it listens on
	log  string // file with its stdout and stderr
	done chan struct{}
	err  error // Wait's result, set before done is closed
}

// childEnv is the environment of every child: the caller's, without
// SMKI_* variables, so that a user's SMKI_STORE, SMKI_RA_URL or
// SMKI_OFFICER cannot point the demo at something other than its own
// server and data.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SMKI_") {
			env = append(env, kv)
		}
	}
	return env
}

// startServer starts `exe serve --dev --data data --listen 127.0.0.1:0`
// and waits (at most wait) for its ready file. The server runs in its own
// process group, so a Ctrl-C reaches only the demo, which then stops it
// in order (stop).
func startServer(ctx context.Context, exe, data, work string, wait time.Duration) (*server, error) {
	ready := filepath.Join(work, "serve.ready")
	logPath := filepath.Join(work, "serve.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrServer, err)
	}
	defer logf.Close()
	cmd, err := startRetryingBusy(func() *exec.Cmd {
		cmd := exec.Command(exe, "serve", "--dev", "--require-officer-csr", "--data", data, "--listen", "127.0.0.1:0", "--ready-file", ready)
		cmd.Env = childEnv()
		cmd.Stdout, cmd.Stderr = logf, logf
		setProcAttr(cmd)
		return cmd
	})
	if err != nil {
		return nil, fmt.Errorf("%w: starting %s serve: %v", ErrServer, exe, err)
	}
	s := &server{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { s.err = cmd.Wait(); close(s.done) }()

	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		if b, err := os.ReadFile(ready); err == nil && len(bytes.TrimSpace(b)) > 0 {
			s.addr = string(bytes.TrimSpace(b))
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("%w: smki serve exited before it was ready (%v); log:\n%s", ErrServer, s.err, s.tail(20))
		case <-deadline.C:
			s.stop(5 * time.Second)
			return nil, fmt.Errorf("%w: smki serve not ready after %s; log:\n%s", ErrServer, wait, s.tail(20))
		case <-ctx.Done():
			s.stop(5 * time.Second)
			return nil, fmt.Errorf("%w: interrupted while starting: %v", ErrServer, ctx.Err())
		case <-t.C:
		}
	}
}

// stop sends SIGTERM (the server drains and exits), then SIGKILL after
// grace. It returns once the process is gone, and is safe to call twice.
func (s *server) stop(grace time.Duration) error {
	select {
	case <-s.done:
		return nil
	default:
	}
	terminate(s.cmd)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-s.done:
		return nil
	case <-t.C:
		kill(s.cmd)
		<-s.done
		return fmt.Errorf("%w: smki serve ignored SIGTERM for %s and was killed", ErrServer, grace)
	}
}

// tail returns the last n lines of the server's log.
func (s *server) tail(n int) string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startRetryingBusy starts the command newCmd makes, making and starting
// it again for up to a second while the kernel answers ETXTBSY: an
// executable written a moment ago (a build that just finished, a test's
// stand-in) can still be open for writing in a child another goroutine
// is forking, until that child execs (golang.org/issue/22315).
func startRetryingBusy(newCmd func() *exec.Cmd) (*exec.Cmd, error) {
	deadline := time.Now().Add(time.Second)
	for {
		cmd := newCmd()
		err := cmd.Start()
		if err == nil || !errors.Is(err, syscall.ETXTBSY) || time.Now().After(deadline) {
			return cmd, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}
