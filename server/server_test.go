package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/smki/smki/internal/credential"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/smki/smki/internal/buildinfo"
)

// serveDev opens a dev server on a fresh data directory and serves it
// until cancel (or the test's end); done gets Serve's return.
func serveDev(t *testing.T) (s *Server, data string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	data = filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := Open(ctx, Config{DataDir: data, Listen: "127.0.0.1:0", Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	return s, data, cancel, served
}

// accessRootClient is an HTTPS client (no client certificate) that
// verifies the server against data's RA access root.
func accessRootClient(t *testing.T, data string) *http.Client {
	t.Helper()
	rootPEM, err := os.ReadFile(filepath.Join(data, "access", "access-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(rootPEM) {
		t.Fatal("no access root")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// TestOpenServeHealthz assembles a dev server from a Config alone (no CLI),
// serves it, and reads the one /healthz over TLS verified against the
// access root; cancelling the context shuts it down cleanly.
func TestOpenServeHealthz(t *testing.T) {
	t.Parallel()
	s, data, cancel, done := serveDev(t)
	client := accessRootClient(t, data)
	resp, err := client.Get("https://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Status, Scheduler, ARL, ORL, Version, Revision string }
	err = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	want := buildinfo.Read()
	if err != nil || resp.StatusCode != 200 || h.Status != "ok" || h.Scheduler != "leader" || h.ARL != "ok" || h.ORL != "ok" ||
		h.Version != want.Version || h.Revision != want.Revision {
		t.Fatalf("/healthz: %d %+v %v", resp.StatusCode, h, err)
	}
	// /metrics wants an officer's certificate (issue 12 finding 6).
	resp, err = client.Get("https://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without a client certificate: %d, want 401", resp.StatusCode)
	}
	adminTLS, err := credential.ClientTLS(filepath.Join(data, "officers", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	officer := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: adminTLS}}
	resp, err = officer.Get("https://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	line := fmt.Sprintf("smki_build_info{go_version=%q,revision=%q,version=%q} 1", want.GoVersion, want.Revision, want.Version)
	if !strings.Contains(string(metrics), line) {
		t.Fatalf("/metrics lacks %s:\n%s", line, metrics)
	}
	for _, c := range []string{"issuing", "root"} {
		if line := fmt.Sprintf("smki_ca_cert_expiry_timestamp_seconds{ca=%q}", c); !strings.Contains(string(metrics), line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	// OCSP is mounted: the responder's own certificate (recorded in the
	// store like every certificate the Issuing OCA signs) answers good,
	// signed by it.
	rc := s.ocsp.ResponderCertificate()
	oreq, err := xocsp.CreateRequest(rc, s.authority.Issuing(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = client.Post("https://"+s.Addr()+"/ocsp", "application/ocsp-request", bytes.NewReader(oreq))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if or, err := xocsp.ParseResponseForCert(body, rc, s.authority.Issuing()); err != nil || or.Status != xocsp.Good {
		t.Fatalf("/ocsp: HTTP %d, %v, %+v", resp.StatusCode, err, or)
	}
	// The repository is mounted: the same certificate by serial, as DER.
	resp, err = client.Get("https://" + s.Addr() + "/repo/certs/" + rc.SerialNumber.Text(16) + ".der")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, rc.Raw) || resp.Header.Get("ETag") == "" {
		t.Fatalf("/repo/certs/%x.der: HTTP %d, %d bytes", rc.SerialNumber, resp.StatusCode, len(body))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

// TestOpenBusyPortWritesNothing: a listen address in use fails with
// ErrListen before the data directory is created.
func TestOpenBusyPortWritesNothing(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := filepath.Join(t.TempDir(), "data")
	_, err = Open(context.Background(), Config{DataDir: data, Listen: ln.Addr().String(), Dev: true})
	if !errors.Is(err, ErrListen) {
		t.Fatalf("Open on a busy port: %v, want ErrListen", err)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data directory after a failed listen: %v, want it absent", err)
	}
}

// TestOpenRefusesBadConfig: each unusable Config is refused with
// ErrConfig before anything is bound or written.
func TestOpenRefusesBadConfig(t *testing.T) {
	t.Parallel()
	neg := -time.Second
	dir := filepath.Join(t.TempDir(), "data")
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no data directory", Config{Dev: true}},
		{"listen without port", Config{DataDir: dir, Listen: "127.0.0.1", Dev: true}},
		{"no passphrase outside dev", Config{DataDir: dir, Listen: "127.0.0.1:0"}},
		{"negative reconcile-after", Config{DataDir: dir, Listen: "127.0.0.1:0", Dev: true, ReconcileAfter: &neg}},
		{"bad store spec", Config{DataDir: dir, Listen: "127.0.0.1:0", Dev: true, Store: "mysql://h/db"}},
	}
	for _, tt := range tests {
		_, err := Open(context.Background(), tt.cfg)
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", tt.name, err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data directory after refused configs: %v, want it absent", err)
	}
}
