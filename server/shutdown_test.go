package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestServeReturnsWhenAListenerFails: when one listener stops for good
// (here the metrics listener, closed under the server), Serve stops the
// other listener and the scheduled work and returns an error coded
// ErrListen, instead of serving on half-alive or never returning; and
// when it returns nothing listens, even where the HTTPS listener's
// serving goroutine had not started yet when the metrics listener failed
// (it failed CI that way: "the HTTPS listener ... still accepts after
// Serve returned"; here that goroutine is held back on purpose).
func TestServeReturnsWhenAListenerFails(t *testing.T) {
	t.Parallel()
	for _, late := range []bool{false, true} {
		t.Run(fmt.Sprintf("https-late=%v", late), func(t *testing.T) {
			t.Parallel()
			serveAfterMetricsFails(t, late)
		})
	}
}

func serveAfterMetricsFails(t *testing.T, httpsLate bool) {
	data := filepath.Join(t.TempDir(), "data")
	s, err := Open(context.Background(), Config{DataDir: data, Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0", Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if httpsLate {
		s.beforeServe = func(listener string) {
			if listener == "HTTPS" {
				time.Sleep(500 * time.Millisecond)
			}
		}
	}
	addr := s.Addr()
	s.metricsLn.Close()
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrListen) {
			t.Fatalf("Serve after its metrics listener failed: %v, want ErrListen", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return within 20s after its metrics listener failed")
	}
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		c.Close()
		t.Fatalf("the HTTPS listener %s still accepts after Serve returned", addr)
	}
}

// TestShutdownCutsOffRequestsPastTheGrace: a request still running when
// the shutdown grace ends (here a client that sent half a POST /ocsp body
// and then nothing) has its connection closed, its handler is waited for,
// and Serve returns nil: the shutdown is clean, with nothing still using
// the store that Close closes next, and no raw "context deadline
// exceeded" for the operator.
func TestShutdownCutsOffRequestsPastTheGrace(t *testing.T) {
	t.Parallel()
	s, _, cancel, done := serveDev(t)

	conn, err := tls.Dial("tcp", s.Addr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /ocsp HTTP/1.1\r\nHost: smki\r\nContent-Type: application/ocsp-request\r\n"+
		"Content-Length: 1000\r\n\r\n0123456789"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the handler is reading the body
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve with a request past the grace: %v, want nil", err)
		}
		if took := time.Since(start); took > shutdownGrace+handlerDrain+2*time.Second {
			t.Fatalf("Serve took %v to return", took)
		}
	case <-time.After(shutdownGrace + 20*time.Second):
		t.Fatal("Serve did not return")
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the connection of the request past the grace is still open after Serve returned")
		}
	}
}
