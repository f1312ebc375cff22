package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSidecarTransports (issue 15): `smki verifier serve` on the command
// path that must not be plain HTTP across hosts. With --tls-cert/--tls-key
// and --tls-client-ca it answers HTTPS to a client with a certificate from
// that CA (a signed SR 1.6 is accepted), and refuses a client without one
// and plain HTTP; with --listen unix:PATH it answers on a unix socket of
// mode 0660 and removes it on exit.
func TestSidecarTransports(t *testing.T) {
	t.Parallel()
	pki := scenario(t)
	signed := signSCCredit(t, pki, 40)
	base := []string{"--trust", filepath.Join(pki, "trust"), "--bundle", filepath.Join(pki, "bundle.json")}
	verify := func(t *testing.T, c *http.Client, url string) decision {
		t.Helper()
		return postVerifyVia(t, c, url, []byte(signed))
	}

	t.Run("https with client certificates", func(t *testing.T) {
		t.Parallel()
		work := t.TempDir()
		ca, caKey := testCA(t, "sidecar client CA")
		serverCA, serverCAKey := testCA(t, "sidecar server CA")
		srvCert, srvKey := testLeaf(t, serverCA, serverCAKey, "verifier", x509.ExtKeyUsageServerAuth)
		cliCert, cliKey := testLeaf(t, ca, caKey, "command path", x509.ExtKeyUsageClientAuth)
		writePEM(t, filepath.Join(work, "server.pem"), "CERTIFICATE", srvCert.Raw)
		writePEM(t, filepath.Join(work, "server.key"), "PRIVATE KEY", pkcs8(t, srvKey))
		writePEM(t, filepath.Join(work, "clients.pem"), "CERTIFICATE", ca.Raw)
		addr := startSidecar(t, append(base, "--tls-cert", filepath.Join(work, "server.pem"),
			"--tls-key", filepath.Join(work, "server.key"), "--tls-client-ca", filepath.Join(work, "clients.pem"))...)
		roots := x509.NewCertPool()
		roots.AddCert(serverCA)
		withCert := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: roots, ServerName: "127.0.0.1",
			Certificates: []tls.Certificate{{Certificate: [][]byte{cliCert.Raw}, PrivateKey: cliKey}}}}}
		url := "https://" + addr
		if c := status(withCert, url+"/readyz"); c != 200 {
			t.Fatalf("HTTPS /readyz with a client certificate: %d, want 200", c)
		}
		if d := verify(t, withCert, url); d.Decision != "accept" {
			t.Fatalf("HTTPS with a client certificate: %+v, want accept", d)
		}
		noCert := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}}}
		if _, err := noCert.Get(url + "/readyz"); err == nil {
			t.Fatal("HTTPS without a client certificate: answered, want the handshake refused")
		}
		if resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Fatal("plain HTTP to the HTTPS sidecar: 200")
			}
		}
	})

	t.Run("unix socket", func(t *testing.T) {
		t.Parallel()
		sock := filepath.Join(t.TempDir(), "v.sock")
		p := startSidecarProc(t, append(base, "--listen", "unix:"+sock)...)
		if p.addr != sock {
			t.Fatalf("--ready-file holds %q, want the socket %s", p.addr, sock)
		}
		fi, err := os.Stat(sock)
		if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
			t.Fatalf("socket %s: %v %v, want a socket of mode 0660", sock, fi, err)
		}
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", sock)
			}}}
		if code := status(c, "http://sidecar/readyz"); code != 200 {
			t.Fatalf("unix socket /readyz: %d, want 200", code)
		}
		if d := verify(t, c, "http://sidecar"); d.Decision != "accept" {
			t.Fatalf("over the unix socket: %+v, want accept", d)
		}
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			t.Fatal("the sidecar did not exit on SIGINT")
		}
		if _, err := os.Lstat(sock); !os.IsNotExist(err) {
			t.Fatalf("the socket is left behind after exit: %v", err)
		}
		// The decision log: the accept is on record at INFO (the
		// default level), with what routed it and none of the request.
		log := string(mustReadFile(t, p.log))
		if !strings.Contains(log, `"level":"INFO","msg":"verify","decision":"accept","request_id":"`) ||
			!strings.Contains(log, `"srv":"1.6","role":"SC","route":"`) || strings.Contains(log, "<sr:") {
			t.Fatalf("the sidecar's log lacks the accept's INFO line (or holds the request):\n%s", log)
		}
	})
}

// TestSidecarStaleNotReady (issue 15): data older than --max-age makes
// the sidecar not ready from its start: /readyz 503 naming stale data
// within a second of listening, /healthz 200, the metric 0, a request
// refused STALE, and one ERROR line in its log saying why.
func TestSidecarStaleNotReady(t *testing.T) {
	t.Parallel()
	pki := scenario(t)
	p := startSidecarProc(t, "--trust", filepath.Join(pki, "trust"), "--bundle", filepath.Join(pki, "bundle.json"), "--max-age", "1ms")
	started := time.Now()
	client := &http.Client{Timeout: 10 * time.Second}
	code, body, err := tryGet(client, "http://"+p.addr+"/readyz")
	if err != nil || code != 503 || !strings.Contains(body, "stale") {
		t.Fatalf("--max-age 1ms: /readyz %d %s %v, want 503 naming stale data", code, body, err)
	}
	if since := time.Since(started); since > time.Second {
		t.Fatalf("/readyz answered %s after the sidecar listened, want within a second", since)
	}
	if c := status(client, "http://"+p.addr+"/healthz"); c != 200 {
		t.Fatalf("/healthz %d, want 200 (liveness)", c)
	}
	if _, m, _ := tryGet(client, "http://"+p.addr+"/metrics"); !strings.Contains(m, "smki_verifier_ready 0") {
		t.Fatalf("metrics lack smki_verifier_ready 0:\n%s", m)
	}
	signed := signSCCredit(t, pki, 41)
	if d := postVerify(t, p.addr, []byte(signed)); d.Decision != "reject" || d.Code != "STALE" {
		t.Fatalf("a request to a stale sidecar: %+v, want a reject STALE", d)
	}
	log := string(mustReadFile(t, p.log))
	if n := strings.Count(log, `"level":"ERROR","msg":"not ready: stale`); n != 1 {
		t.Fatalf("%d ERROR lines naming stale data at start, want 1:\n%s", n, log)
	}
}

// signSCCredit is the scenario's SR 1.6 to Credit from the SoLR SC user,
// signed with counter: what a sidecar on the scenario accepts.
func signSCCredit(t *testing.T, pki string, counter int) string {
	t.Helper()
	dir := filepath.Join(pki, "users", "srp-sc-xml")
	return mustRun(t, asUser(t, "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", "90-B3-D5-1F-30-05-00-00"),
		"sign", "--key", filepath.Join(dir, "key.pem"), "--cert", filepath.Join(dir, "cert.pem"), "--counter", strconv.Itoa(counter), "-").stdout
}

// testCA is a self-signed P-256 CA for TLS tests.
func testCA(t *testing.T, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	return testCert(t, nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: cn},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
}

// testLeaf is a certificate from ca for 127.0.0.1 with extended key usage eku.
func testLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, eku x509.ExtKeyUsage) (*x509.Certificate, *ecdsa.PrivateKey) {
	return testCert(t, ca, caKey, &x509.Certificate{Subject: pkix.Name{CommonName: cn},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{eku},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}})
}

// testCert issues tmpl, valid for an hour either side of now, with a new
// P-256 key, from parent (self-signed if nil).
func testCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func pkcs8(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
