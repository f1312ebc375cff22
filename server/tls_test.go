package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/librarytext"
	"github.com/smki/smki/internal/opfile"
)

func TestValidTLSName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"ra.smki.test": true, "127.0.0.2": true, "::1": true, "ra-1.example.org.": true, "localhost": true,
		"": false, "ra smki": false, "*.example.org": false, "-ra.example": false, "ra..example": false,
		"ra_1.example": false, string(make([]byte, 254)): false,
	} {
		if got := validTLSName(name); got != want {
			t.Errorf("validTLSName(%q) = %v, want %v", name, got, want)
		}
	}
}

// peerCert dials addr as a client naming serverName and returns the
// certificate the server presented.
func peerCert(t *testing.T, addr, serverName string) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: serverName, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// TestTLSNamesAndOperatorCertificate: Config.TLSNames go in the access
// CA's certificate (once each, beside localhost and loopback); with an
// operator certificate the server presents that instead, and ReloadTLS
// swaps in a new one for new connections while a bad file keeps the old.
func TestTLSNamesAndOperatorCertificate(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	first, stopFirst := context.WithCancel(ctx)
	s, err := Open(first, Config{DataDir: data, Listen: "127.0.0.1:0", Dev: true, TLSNames: []string{"ra.smki.test", "127.0.0.2", "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(first) }()
	c := peerCert(t, s.Addr(), "ra.smki.test")
	var ips []string
	for _, ip := range c.IPAddresses {
		ips = append(ips, ip.String())
	}
	slices.Sort(ips)
	if !slices.Equal(c.DNSNames, []string{"localhost", "ra.smki.test"}) || !slices.Equal(ips, []string{"127.0.0.1", "127.0.0.2", "::1"}) {
		t.Errorf("server certificate names: DNS %v IP %v", c.DNSNames, ips)
	}
	stopFirst()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	s.Close()

	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.pem"), filepath.Join(dir, "tls.key")
	operator := writeSelfSigned(t, certFile, keyFile, "ra.corp.example")
	s, err = Open(ctx, Config{DataDir: data, Listen: "127.0.0.1:0", Dev: true, TLSCertFile: certFile, TLSKeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	go s.Serve(ctx)
	if got := peerCert(t, s.Addr(), "ra.corp.example"); got.SerialNumber.Cmp(operator) != 0 {
		t.Fatalf("served serial %x, want the operator's %x", got.SerialNumber, operator)
	}
	second := writeSelfSigned(t, certFile, keyFile, "ra.corp.example")
	if err := s.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if got := peerCert(t, s.Addr(), "ra.corp.example"); got.SerialNumber.Cmp(second) != 0 {
		t.Fatalf("after reload: serial %x, want %x", got.SerialNumber, second)
	}
	for _, tc := range []struct {
		name, want string
		write      func()
	}{
		{"not a key", "do not load as a PEM certificate chain and its private key", func() { os.WriteFile(keyFile, []byte("not a key"), 0o600) }},
		{"missing", keyFile + " cannot be read: there is no such file", func() { os.Remove(keyFile) }},
		{"over the cap", fmt.Sprintf("E_FILE_TOO_LARGE: %s is over %d bytes", keyFile, opfile.MaxKey), func() {
			f, _ := os.Create(keyFile)
			f.Truncate(opfile.MaxKey + 1) // sparse
			f.Close()
		}},
	} {
		tc.write()
		err := s.ReloadTLS()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) || librarytext.Find(err.Error()) != "" {
			t.Errorf("%s: ReloadTLS = %v; want E_SERVER_CONFIG and %q in smki's words", tc.name, err, tc.want)
		}
	}
	if got := peerCert(t, s.Addr(), "ra.corp.example"); got.SerialNumber.Cmp(second) != 0 {
		t.Fatalf("after a failed reload: serial %x, want the previous %x", got.SerialNumber, second)
	}
}

// writeSelfSigned writes a fresh self-signed server certificate for name
// and its key, returning its serial.
func writeSelfSigned(t *testing.T, certFile, keyFile, name string) *big.Int {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return serial
}
