package server

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestServeReturnsWhenAListenerFails: when one listener stops for good
// (here the metrics listener, closed under the server), Serve stops the
// other listener and the scheduled work and returns an error coded
// ErrListen, instead of serving on half-alive or never returning.
func TestServeReturnsWhenAListenerFails(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	s, err := Open(context.Background(), Config{DataDir: data, Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0", Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
