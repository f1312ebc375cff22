package ownpki

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/internal/keyscan"
	"github.com/smki/smki/internal/softhsmtest"
	"github.com/smki/smki/store/bolt"
)

// testStart is the fixed clock of these tests.
var testStart = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// realCA is a CA whose KeyStore (softkms with passphrase, or PKCS#11)
// holds the RA's own keys, as in `smki serve`.
func realCA(t *testing.T, kms string) (*ca.CA, ca.Config) {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := ca.Config{Dir: dir, Passphrase: []byte("the CA passphrase"), KMS: kms, Clock: func() time.Time { return testStart }}
	ctx := context.Background()
	if err := ca.Init(ctx, st, cfg, ca.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := ca.Open(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, cfg
}

func openOwn(t *testing.T, c *ca.CA, keys Keys, dir string) (*AccessCA, *SystemSigner, error) {
	t.Helper()
	acc, err := OpenAccessCA(filepath.Join(dir, "access"), keys, func() time.Time { return testStart }, nil)
	if err != nil {
		return nil, nil, err
	}
	sig, err := OpenSystemSigner(context.Background(), filepath.Join(dir, "ra"), keys, c, DefaultSystemID, testStart, nil)
	return acc, sig, err
}

func assertNoPlaintext(t *testing.T, dir string) {
	t.Helper()
	found, err := keyscan.Plaintext(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 0 {
		t.Fatalf("unencrypted private keys in the data directory: %+v", found)
	}
}

// snapshot is every file under dir with its SHA-256.
func snapshot(t *testing.T, dir string) map[string][sha256.Size]byte {
	t.Helper()
	m := map[string][sha256.Size]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		m[p] = sha256.Sum256(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// works proves the pair usable: the access CA issues an officer
// credential that chains to its root, and the signer's key matches its
// certificate.
func works(t *testing.T, acc *AccessCA, sig *SystemSigner) {
	t.Helper()
	cred, err := acc.IssueOfficer("admin", "ra-operator", RAOrganisation)
	if err != nil {
		t.Fatal(err)
	}
	cert := parsedCred(t, cred)
	if err := cert.CheckSignatureFrom(acc.Root()); err != nil {
		t.Fatalf("officer certificate: %v", err)
	}
	if !samePublic(sig.key.Public(), sig.Chain()[0].PublicKey) {
		t.Fatal("system signer key does not match its certificate")
	}
}

// TestOwnKeysSoftKMS: with softkms, the access CA and system signer keys
// are encrypted files in the CA's key directory; the data directory holds
// no plaintext key, and a reopen finds the same keys.
func TestOwnKeysSoftKMS(t *testing.T) {
	t.Parallel()
	c, cfg := realCA(t, "")
	acc, sig, err := openOwn(t, c, c.KeyStore(), cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	works(t, acc, sig)
	assertNoPlaintext(t, cfg.Dir)
	for _, f := range []string{"access/" + accessRootKeyRef, "ra/" + systemKeyRef} {
		ref, err := readKeyRef(filepath.Join(cfg.Dir, f))
		if err != nil || !strings.HasPrefix(ref, "keys/ra-") {
			t.Errorf("%s = %q, %v; want a softkms reference under keys/", f, ref, err)
		}
	}
	acc2, sig2, err := openOwn(t, c, c.KeyStore(), cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !acc2.Root().Equal(acc.Root()) || !samePublic(sig2.key.Public(), sig.key.Public()) {
		t.Fatal("reopen found other keys")
	}
}

// writeLegacy lays out dir as an smki before the KMS left it: the access
// root key as SEC 1 PEM and the system signer key as PKCS#8 PEM, both
// unencrypted. It returns both public keys.
func writeLegacy(t *testing.T, c *ca.CA, dir string) (accessPub, signerPub any) {
	t.Helper()
	for _, d := range []string{"access", "ra"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := randomSerial()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "smki RA access root"},
		NotBefore: testStart.Add(-time.Hour), NotAfter: testStart.Add(accessRootValidity),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, rootKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	sec1, _ := x509.MarshalECPrivateKey(rootKey)
	mustWrite(t, filepath.Join(dir, "access", accessRootPlainKey), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	mustWrite(t, filepath.Join(dir, "access", accessRootCertFile), pemCert(der))

	sigKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, sigKey)
	csr, _ := x509.ParseCertificateRequest(csrDER)
	cert, err := c.IssueSystem(context.Background(), csr, DefaultSystemID, "smki-ra-system-signer")
	if err != nil {
		t.Fatal(err)
	}
	p8, _ := x509.MarshalPKCS8PrivateKey(sigKey)
	mustWrite(t, filepath.Join(dir, "ra", systemPlainKey), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
	mustWrite(t, filepath.Join(dir, "ra", systemCertFile), pemCert(cert.Raw))
	return rootKey.Public(), sigKey.Public()
}

func mustWrite(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestOwnKeysMigration: plaintext keys from an older smki are imported
// (same keys, so officers' credentials and verifiers are unaffected),
// encrypted, and the plaintext files removed; an interrupted migration
// (reference written, plaintext still there) finishes at the next open.
func TestOwnKeysMigration(t *testing.T) {
	t.Parallel()
	c, cfg := realCA(t, "")
	accessPub, signerPub := writeLegacy(t, c, cfg.Dir)
	plainAccess := filepath.Join(cfg.Dir, "access", accessRootPlainKey)
	plaintext, err := os.ReadFile(plainAccess)
	if err != nil {
		t.Fatal(err)
	}

	acc, sig, err := openOwn(t, c, c.KeyStore(), cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	works(t, acc, sig)
	if !samePublic(acc.key.Public(), accessPub) || !samePublic(sig.key.Public(), signerPub) {
		t.Fatal("migration changed the keys")
	}
	for _, p := range []string{plainAccess, filepath.Join(cfg.Dir, "ra", systemPlainKey)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists after migration (%v)", p, err)
		}
	}
	assertNoPlaintext(t, cfg.Dir)

	// Crash after the reference was written, before the plaintext was
	// removed: the next open removes the copy and keeps the key.
	mustWrite(t, plainAccess, plaintext)
	acc2, err := OpenAccessCA(filepath.Join(cfg.Dir, "access"), c.KeyStore(), func() time.Time { return testStart }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !acc2.Root().Equal(acc.Root()) {
		t.Fatal("reopen after an interrupted migration found another root")
	}
	assertNoPlaintext(t, cfg.Dir)

	// A plaintext key that is not the referenced one is not ours to
	// delete: refused, left in place.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(other)
	mustWrite(t, plainAccess, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	_, err = OpenAccessCA(filepath.Join(cfg.Dir, "access"), c.KeyStore(), func() time.Time { return testStart }, nil)
	if !errors.Is(err, ErrPlaintextKey) {
		t.Fatalf("foreign plaintext key: %v, want %v", err, ErrPlaintextKey)
	}
	if _, err := os.Stat(plainAccess); err != nil {
		t.Fatalf("foreign plaintext key removed: %v", err)
	}
}

// TestOwnKeysWrongPassphrase: keys encrypted with one passphrase do not
// open with another; the error is coded and nothing in the data directory
// changes (no new key, no new certificate).
func TestOwnKeysWrongPassphrase(t *testing.T) {
	t.Parallel()
	c, cfg := realCA(t, "")
	if _, _, err := openOwn(t, c, c.KeyStore(), cfg.Dir); err != nil {
		t.Fatal(err)
	}
	wrong := cfg
	wrong.Passphrase = []byte("not the CA passphrase")
	keys, err := ca.OpenKeyStore(context.Background(), wrong)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	before := snapshot(t, cfg.Dir)

	_, err = OpenAccessCA(filepath.Join(cfg.Dir, "access"), keys, func() time.Time { return testStart }, nil)
	if !errors.Is(err, ErrAccessCA) || !errors.Is(err, ca.ErrConfig) {
		t.Errorf("access CA with a wrong passphrase: %v, want %v wrapping %v", err, ErrAccessCA, ca.ErrConfig)
	}
	_, err = OpenSystemSigner(context.Background(), filepath.Join(cfg.Dir, "ra"), keys, c, DefaultSystemID, testStart, nil)
	if !errors.Is(err, ErrSigner) || !errors.Is(err, ca.ErrConfig) {
		t.Errorf("system signer with a wrong passphrase: %v, want %v wrapping %v", err, ErrSigner, ca.ErrConfig)
	}
	if after := snapshot(t, cfg.Dir); !reflect.DeepEqual(before, after) {
		t.Error("a failed open changed the data directory")
	}
}

// TestOwnKeysPKCS11 runs against a real SoftHSM2 token: the access CA and
// system signer keys are generated in the token and no key file at all
// lands in the data directory; a plaintext key from an older smki is
// refused (a token takes only keys born in it) and left untouched.
// Not parallel: it sets SOFTHSM2_CONF for the process.
func TestOwnKeysPKCS11(t *testing.T) {
	uri := softHSMToken(t)
	c, cfg := realCA(t, uri)
	acc, sig, err := openOwn(t, c, c.KeyStore(), cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	works(t, acc, sig)
	for _, f := range []string{"access/" + accessRootKeyRef, "ra/" + systemKeyRef} {
		ref, err := readKeyRef(filepath.Join(cfg.Dir, f))
		if err != nil || !strings.HasPrefix(ref, "pkcs11:") || strings.Contains(ref, "pin") {
			t.Errorf("%s = %q, %v; want a pkcs11: reference without a PIN", f, ref, err)
		}
	}
	err = filepath.WalkDir(cfg.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "keys" {
				t.Errorf("key directory %s created", p)
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if strings.Contains(string(b), "PRIVATE KEY") {
			t.Errorf("private key material in %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	acc2, sig2, err := openOwn(t, c, c.KeyStore(), cfg.Dir)
	if err != nil || !acc2.Root().Equal(acc.Root()) || !samePublic(sig2.key.Public(), sig.key.Public()) {
		t.Fatalf("reopen from the token: %v", err)
	}

	legacy := t.TempDir()
	writeLegacy(t, c, legacy)
	before := snapshot(t, legacy)
	_, err = OpenAccessCA(filepath.Join(legacy, "access"), c.KeyStore(), func() time.Time { return testStart }, nil)
	if !errors.Is(err, ErrPlaintextKey) || !errors.Is(err, ca.ErrKeyImportRefused) || !strings.Contains(err.Error(), "new credential") {
		t.Errorf("plaintext access key with PKCS#11: %v, want %v with advice", err, ErrPlaintextKey)
	}
	_, err = OpenSystemSigner(context.Background(), filepath.Join(legacy, "ra"), c.KeyStore(), c, DefaultSystemID, testStart, nil)
	if !errors.Is(err, ErrPlaintextKey) || !strings.Contains(err.Error(), "harmless") {
		t.Errorf("plaintext signer key with PKCS#11: %v, want %v with advice", err, ErrPlaintextKey)
	}
	if after := snapshot(t, legacy); !reflect.DeepEqual(before, after) {
		t.Error("a refused migration changed the data directory")
	}
}

// softHSMToken makes a fresh SoftHSM2 token and returns its pkcs11: URI.
func softHSMToken(t *testing.T) string { return softhsmtest.Token(t, "smki-ra") }
