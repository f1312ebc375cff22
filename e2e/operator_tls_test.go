package e2e

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOperatorTLSCertificateOfficers: an RA served with a certificate of
// the operator's own CA (smki serve --tls-cert, docs/operations.md) is
// still reachable by its officers' smki: the credential's ca.pem, which
// the client verifies the server with, carries the CA certificates of the
// served chain (here the intermediate after the leaf in the tls.cert
// file) besides the access root. The bootstrap operator's credential and
// one appointed through the API both work. Before, every client verb
// failed with E_RA_UNREACHABLE ("does not verify against the
// credential's ca.pem"), and nothing the RA handed out could fix it.
func TestOperatorTLSCertificateOfficers(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	srv, data, inter := operatorTLSServer(t, work)
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
	ra.must("party", "create", "--id", "90-B3-D5-1F-30-00-00-5C", "--name", "srp-1")
	sro := filepath.Join(work, "sro")
	ra.must("officer", "add", "--id", "srp1-sro", "--name", "Sam Roe", "--kind", "sro", "--party", "90-B3-D5-1F-30-00-00-5C", "--out", sro)
	if r := ra.as(sro).run("party", "list"); r.code != 0 || !strings.Contains(r.stdout, "srp-1") {
		t.Fatalf("party list as the new SRO: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if ca := string(mustReadFile(t, filepath.Join(sro, "ca.pem"))); !strings.Contains(ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: inter.Raw}))) {
		t.Errorf("the SRO's ca.pem does not carry the CA of the served certificate:\n%s", ca)
	}
}

// TestOperatorTLSCertificateVerifier: with an RA served with a certificate
// of the operator's own CA (smki serve --tls-cert, leaf and intermediate),
// a verifier officer's ca.pem verifies the RA for the credential-less
// public export (smki trust export --ra-ca) and for the sidecar that
// follows the RA (smki verifier serve --ra --officer), as it does for the
// officer verbs (TestOperatorTLSCertificateOfficers).
func TestOperatorTLSCertificateVerifier(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	srv, data, _ := operatorTLSServer(t, work)
	url := "https://" + srv.addr
	ra := raSession{t: t, url: url, officer: filepath.Join(data, "officers", "admin")}
	ver := filepath.Join(work, "verifier")
	ra.must("officer", "add", "--id", "verifier-1", "--name", "command path verifier", "--kind", "verifier", "--out", ver)
	public := filepath.Join(work, "public")
	if r := run(t, nil, "trust", "export", "--ra", url, "--ra-ca", filepath.Join(ver, "ca.pem"), "--out", public); r.code != 0 {
		t.Fatalf("trust export --ra-ca (the verifier's ca.pem): exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	addr := startSidecar(t, "--trust", public, "--ra", url, "--officer", ver)
	client := &http.Client{Timeout: 10 * time.Second}
	waitFor(t, 30*time.Second, "the sidecar following the RA ready", func() bool { return status(client, "http://"+addr+"/readyz") == 200 })
}

// operatorTLSServer starts smki serve --dev in work/data serving, as an
// operator's own certificate (--tls-cert), a leaf for 127.0.0.1 issued by
// an intermediate ("Corp TLS CA") of another root, the chain as served
// (leaf, then intermediate) in the tls.cert file. It returns the server,
// its data directory and the intermediate.
func operatorTLSServer(t *testing.T, work string) (*server, string, *x509.Certificate) {
	t.Helper()
	root, rootKey := testCA(t, "Corp Root")
	inter, interKey := testCert(t, root, rootKey, &x509.Certificate{Subject: pkix.Name{CommonName: "Corp TLS CA"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
	leaf, leafKey := testLeaf(t, inter, interKey, "ra.corp.example", x509.ExtKeyUsageServerAuth)
	var chain bytes.Buffer
	pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: inter.Raw})
	certFile, keyFile := filepath.Join(work, "tls.pem"), filepath.Join(work, "tls.key")
	if err := os.WriteFile(certFile, chain.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "PRIVATE KEY", pkcs8(t, leafKey))

	data := filepath.Join(work, "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev", "--tls-cert", certFile, "--tls-key", keyFile), data)
	return srv, data, inter
}
