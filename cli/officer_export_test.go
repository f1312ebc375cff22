package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// TestOfficerExportP12Chain: smki officer export --p12 carries every CA
// certificate of the credential's ca.pem, the access root and, when the
// RA serves its operator's certificate (smki serve --tls-cert), the CA
// certificates of that chain after it. Before, only the first reached
// the PKCS#12 file.
func TestOfficerExportP12Chain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert := func(cn string, ca bool, parent *x509.Certificate, signer *ecdsa.PrivateKey, key any) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: ca, BasicConstraintsValid: ca}
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	rootKey, corpKey, officerKey := newKey(), newKey(), newKey()
	root := cert("access root", true, nil, rootKey, &rootKey.PublicKey)
	corp := cert("Corp TLS CA", true, nil, corpKey, &corpKey.PublicKey)
	leaf := cert("ann", false, root, rootKey, &officerKey.PublicKey)
	keyDER, err := x509.MarshalPKCS8PrivateKey(officerKey)
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string, der ...[]byte) []byte {
		var b []byte
		for _, d := range der {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
		}
		return b
	}
	os.WriteFile(filepath.Join(dir, "key.pem"), pemOf("PRIVATE KEY", keyDER), 0o600)
	os.WriteFile(filepath.Join(dir, "cert.pem"), pemOf("CERTIFICATE", leaf.Raw), 0o644)
	os.WriteFile(filepath.Join(dir, "ca.pem"), pemOf("CERTIFICATE", root.Raw, corp.Raw), 0o644)
	pass := filepath.Join(dir, "pass")
	os.WriteFile(pass, []byte("correct horse\n"), 0o600)
	out := filepath.Join(dir, "ann.p12")
	if code, stderr := mainStderr("officer", "export", "--p12", "--officer", dir, "--out", out, "--passphrase-file", pass); code != 0 {
		t.Fatalf("officer export: exit %d %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	_, got, cas, err := pkcs12.DecodeChain(b, "correct horse")
	if err != nil || !got.Equal(leaf) {
		t.Fatalf("the PKCS#12 file does not open to the officer's certificate: %v", err)
	}
	var names []string
	for _, c := range cas {
		names = append(names, c.Subject.CommonName)
	}
	if want := []string{"access root", "Corp TLS CA"}; !slices.Equal(names, want) {
		t.Errorf("CA certificates in the PKCS#12 file: %q, want %q (all of ca.pem)", names, want)
	}
}
