package credential

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// files is a generated credential: a key, a certificate for it (CN tag,
// self-signed, so it is also its own ca.pem).
type files struct{ key, cert, ca []byte }

func newFiles(t *testing.T, tag string) files {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: tag},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return files{pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), cert, cert}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteAndRead(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "officer")
	f := newFiles(t, "ann")
	if err := Write(dir, f.key, f.cert, f.ca); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		mode os.FileMode
	}{{KeyPath(dir), 0o600}, {CertPath(dir), 0o644}, {CAPath(dir), 0o644}, {dir, 0o700}} {
		if fi, err := os.Stat(tc.path); err != nil || fi.Mode().Perm() != tc.mode {
			t.Errorf("%s: mode %v %v, want %v", tc.path, fi.Mode().Perm(), err, tc.mode)
		}
	}
	if c, err := ReadCert(dir); err != nil || c.Subject.CommonName != "ann" {
		t.Fatalf("ReadCert: %v %v", c, err)
	}
	cfg, err := ClientTLS(dir)
	if err != nil || len(cfg.Certificates) != 1 || cfg.RootCAs == nil || cfg.MinVersion != 0x0304 {
		t.Fatalf("ClientTLS: %+v %v", cfg, err)
	}
	if _, err := LoadKey(KeyPath(dir)); err != nil {
		t.Fatalf("LoadKey: %v", err)
	}

	// Nothing already there is replaced.
	g := newFiles(t, "bob")
	if err := Write(dir, g.key, g.cert, g.ca); err == nil || read(t, CertPath(dir)) != string(f.cert) || read(t, KeyPath(dir)) != string(f.key) {
		t.Fatalf("second Write: %v; files replaced", err)
	}
	// A certificate without its key goes beside the appointee's key.pem,
	// and only if it is for that key.
	own := filepath.Join(t.TempDir(), "own")
	if err := os.MkdirAll(own, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(KeyPath(own), f.key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(own, nil, g.cert, g.ca); err == nil || !strings.Contains(err.Error(), "not for the key") {
		t.Fatalf("certificate for another key: %v", err)
	}
	if _, err := os.Stat(CertPath(own)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cert.pem written for the wrong key: %v", err)
	}
	if err := Write(own, nil, f.cert, f.ca); err != nil {
		t.Fatal(err)
	}
	if _, err := ClientTLS(own); err != nil {
		t.Fatal(err)
	}
}

func TestClientTLSRefuses(t *testing.T) {
	t.Parallel()
	f := newFiles(t, "x")
	for _, tc := range []struct {
		name          string
		key, cert, ca []byte
		want          string
	}{
		{"no key", nil, f.cert, f.ca, "key.pem"},
		{"no ca", f.key, f.cert, nil, "ca.pem"},
		{"ca not PEM", f.key, f.cert, []byte("not PEM"), "ca.pem holds no certificate"},
		{"cert not PEM", f.key, []byte("not PEM"), f.ca, "credential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, b := range map[string][]byte{KeyFile: tc.key, CertFile: tc.cert, CAFile: tc.ca} {
				if b != nil {
					if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := ClientTLS(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ClientTLS: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestSwap: the new credential replaces the old file by file, the old one
// is kept in previous/ (replacing an older copy, key mode kept), and the
// staging directory is gone.
func TestSwap(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir, staging := filepath.Join(root, "officer"), filepath.Join(root, ".officer.renew-1")
	old, older, next := newFiles(t, "old"), newFiles(t, "older"), newFiles(t, "new")
	for d, f := range map[string]files{dir: old, filepath.Join(dir, "previous"): older, staging: next} {
		if err := Write(d, f.key, f.cert, f.ca); err != nil {
			t.Fatal(err)
		}
	}
	if err := Swap(dir, staging); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{KeyPath(dir), string(next.key)},
		{CAPath(dir), string(next.ca)},
		{KeyPath(filepath.Join(dir, "previous")), string(old.key)},
		{CAPath(filepath.Join(dir, "previous")), string(old.ca)},
	} {
		if got := read(t, tc.path); got != tc.want {
			t.Errorf("%s holds the wrong generation", tc.path)
		}
	}
	if c, err := ReadCert(dir); err != nil || c.Subject.CommonName != "new" {
		t.Errorf("cert.pem: %v %v", c, err)
	}
	if c, err := ReadCert(filepath.Join(dir, "previous")); err != nil || c.Subject.CommonName != "old" {
		t.Errorf("previous/cert.pem: %v %v", c, err)
	}
	if fi, err := os.Stat(KeyPath(filepath.Join(dir, "previous"))); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("previous/key.pem: %v %v", fi, err)
	}
	if _, err := os.Stat(staging); !os.IsNotExist(err) {
		t.Errorf("staging directory left behind: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".previous-*")); len(left) != 0 {
		t.Errorf("temporary copies left: %v", left)
	}
}

func TestLoadKey(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	sec1, _ := x509.MarshalECPrivateKey(key)
	params, _ := x509.MarshalPKIXPublicKey(&key.PublicKey) // any bytes: the block is skipped
	block := func(typ string, b []byte) string { return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b})) }
	f := newFiles(t, "x")
	for _, tc := range []struct {
		name, data, want string // want "" loads
	}{
		{"PKCS#8", block("PRIVATE KEY", pkcs8), ""},
		{"SEC 1", block("EC PRIVATE KEY", sec1), ""},
		{"EC PARAMETERS first", block("EC PARAMETERS", params) + block("EC PRIVATE KEY", sec1), ""},
		{"certificate first", string(f.cert) + block("PRIVATE KEY", pkcs8), ""},
		{"encrypted", block("ENCRYPTED PRIVATE KEY", pkcs8), "encrypted"},
		{"certificate only", string(f.cert), "no PEM private key"},
		{"not PEM", "key", "no PEM private key"},
		{"broken PKCS#8", block("PRIVATE KEY", []byte{1, 2, 3}), "key.pem:"},
		{"SEC 1 in a PKCS#8 block", block("PRIVATE KEY", sec1), "key.pem:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "key.pem")
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := LoadKey(path)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want == "" && !key.PublicKey.Equal(s.Public()):
				t.Fatal("loaded another key")
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("LoadKey: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := LoadKey(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
