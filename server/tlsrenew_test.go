package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// syncBuffer is a bytes.Buffer a logger and a test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// metricValue reads one sample line's value from the metrics listener
// (-1 if it is missing).
func metricValue(t *testing.T, addr, name string) int64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Errorf("%s: %v", l, err)
			}
			return int64(f)
		}
	}
	t.Errorf("/metrics has no %s", name)
	return -1
}

// TestServerCertificateRenewedBeforeExpiry: the TLS server certificate the
// RA access CA issues at start (90 days) is renewed by the running server
// before it expires, so a server that runs for months keeps a valid
// certificate that clients verify; smki_server_tls_cert_expiry_timestamp_seconds
// says when the served one expires.
func TestServerCertificateRenewedBeforeExpiry(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	clock := &fakeClock{}
	clock.ns.Store(time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := Open(ctx, Config{DataDir: data, Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0", Dev: true, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	go s.Serve(ctx)
	rootPEM, err := os.ReadFile(filepath.Join(data, "access", "access-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(rootPEM)
	served := func() (*x509.Certificate, error) {
		conn, err := tls.Dial("tcp", s.Addr(), &tls.Config{RootCAs: pool, ServerName: "localhost", Time: clock.now})
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0], nil
	}
	first, err := served()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := metricValue(t, s.MetricsAddr(), "smki_server_tls_cert_expiry_timestamp_seconds"), first.NotAfter.Unix(); got != want {
		t.Errorf("expiry metric %d, want %d (%v)", got, want, first.NotAfter)
	}
	clock.advance(80 * 24 * time.Hour)
	second, err := served()
	if err != nil {
		t.Fatalf("80 days on, a client cannot verify the server: %v", err)
	}
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatalf("80 days on, the server still serves serial %x, which expires %v (%v from then)",
			first.SerialNumber, first.NotAfter, first.NotAfter.Sub(clock.now()).Round(time.Hour))
	}
	if !second.NotAfter.After(clock.now().Add(60 * 24 * time.Hour)) {
		t.Fatalf("renewed certificate expires %v, only %v ahead", second.NotAfter, second.NotAfter.Sub(clock.now()))
	}
	if got, want := metricValue(t, s.MetricsAddr(), "smki_server_tls_cert_expiry_timestamp_seconds"), second.NotAfter.Unix(); got != want {
		t.Errorf("expiry metric after renewal %d, want %d", got, want)
	}
	clock.advance(80 * 24 * time.Hour)
	if _, err := served(); err != nil {
		t.Fatalf("160 days on, a client cannot verify the server: %v", err)
	}
}

// TestOperatorCertificateNearExpiryWarns: an operator certificate
// (tls.cert) that expires within tlsExpiryWarning is logged as a warning
// when loaded (at start and on SIGHUP), and the metric shows its expiry.
func TestOperatorCertificateNearExpiryWarns(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.pem"), filepath.Join(dir, "tls.key")
	writeSelfSigned(t, certFile, keyFile, "ra.corp.example") // valid for an hour
	var logBuf syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := Open(ctx, Config{DataDir: data, Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0", Dev: true,
		TLSCertFile: certFile, TLSKeyFile: keyFile, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	go s.Serve(ctx)
	if !strings.Contains(logBuf.String(), "level=WARN msg=\"TLS server certificate expires soon") {
		t.Fatalf("no warning for an operator certificate that expires in an hour; log:\n%s", logBuf.String())
	}
	c := peerCert(t, s.Addr(), "ra.corp.example")
	if got, want := metricValue(t, s.MetricsAddr(), "smki_server_tls_cert_expiry_timestamp_seconds"), c.NotAfter.Unix(); got != want {
		t.Errorf("expiry metric %d, want %d", got, want)
	}
}
