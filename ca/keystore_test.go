package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyStoreRefusesBadInput: names and key types the KeyStore does not
// take are refused with ErrConfig before anything is written.
func TestKeyStoreRefusesBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ks, err := OpenKeyStore(context.Background(), Config{Dir: dir, Passphrase: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name    string
		keyName string
		key     crypto.PrivateKey // nil: CreateSigner
	}{
		{"path in the name", "../escape", nil},
		{"upper case", "Access", nil},
		{"empty name", "", nil},
		{"import with a bad name", "a/b", p256},
		{"P-384 key", "ok-name", p384},
		{"Ed25519 key", "ok-name", edKey},
		{"not a key", "ok-name", "nope"},
	}
	for _, tc := range tests {
		var err error
		if tc.key == nil {
			_, _, err = ks.CreateSigner(tc.keyName)
		} else {
			_, _, err = ks.ImportSigner(tc.keyName, tc.key)
		}
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want %v", tc.name, err, ErrConfig)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "keys")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused input wrote %s/keys (%v)", dir, err)
	}
	if ks.Kind() != KindSoftKMS {
		t.Errorf("Kind = %q", ks.Kind())
	}
}

// TestKeyStoreErrorsHideThePIN: a KMS URI that cannot be opened is named
// in the error without its PIN, wherever the URI carries it: in the query
// (?pin-value=) or, as RFC 7512 also allows and the KMS accepts, among the
// path attributes (;pin-value=), and in any letter case.
func TestKeyStoreErrorsHideThePIN(t *testing.T) {
	t.Parallel()
	const pin = "S3cretPIN"
	tests := []struct{ name, uri string }{
		{"query", "pkcs11:module-path=/nonexistent/libnone.so;token=smki?pin-value=" + pin},
		{"path attribute", "pkcs11:module-path=/nonexistent/libnone.so;token=smki;pin-value=" + pin},
		{"path attribute before others", "pkcs11:pin-value=" + pin + ";module-path=/nonexistent/libnone.so;token=smki"},
		{"upper-case attribute", "pkcs11:module-path=/nonexistent/libnone.so;token=smki;PIN-VALUE=" + pin},
		{"misspelt scheme", "pkcs-11:module-path=/nonexistent/libnone.so;token=smki;pin-value=" + pin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenKeyStore(context.Background(), Config{KMS: tt.uri})
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("OpenKeyStore(%s): %v, want ErrConfig", tt.name, err)
			}
			if strings.Contains(err.Error(), pin) {
				t.Fatalf("the error shows the PIN: %v", err)
			}
			if !strings.Contains(err.Error(), "pkcs") {
				t.Fatalf("the error does not name the KMS URI: %v", err)
			}
		})
	}
}

// TestSoftKMSOpenRefusalsSayWhatToDo: a CA whose softkms key file is
// missing, cut short or emptied, or opened with another passphrase, is
// refused at Open with ErrConfig naming the file and what to do, each
// cause its own: a damaged file is not called a wrong passphrase.
func TestSoftKMSOpenRefusalsSayWhatToDo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		damage func(t *testing.T, path string, cfg *Config)
		want   string
	}{
		{"missing", func(t *testing.T, path string, _ *Config) { os.Remove(path) }, "cannot be read (no such file): restore DATA/keys"},
		{"cut short", func(t *testing.T, path string, _ *Config) { truncate(t, path, 200) }, "is damaged"},
		{"empty", func(t *testing.T, path string, _ *Config) { truncate(t, path, 0) }, "is damaged"},
		{"wrong passphrase", func(t *testing.T, _ string, cfg *Config) { cfg.Passphrase = []byte("wrong") }, "does not open with this passphrase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.ca.Close()
			keys, _ := filepath.Glob(filepath.Join(e.dir, "keys", "issuing-*.key"))
			if len(keys) != 1 {
				t.Fatalf("issuing key files: %v", keys)
			}
			cfg := e.cfg
			tt.damage(t, keys[0], &cfg)
			_, err := Open(context.Background(), e.st, cfg)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v; want ErrConfig saying %q", err, tt.want)
			}
		})
	}
}

func truncate(t *testing.T, path string, n int64) {
	t.Helper()
	if err := os.Truncate(path, n); err != nil {
		t.Fatal(err)
	}
}

// TestSoftKMSKeyFileModes: smki writes its softkms key files 0600 in a
// 0700 keys directory; a key file any other user may read or write (a
// copy restored with 0644, a chmod g+r) is refused at Open, so smki serve
// refuses to start, with ErrKeyFileMode naming the file and the chmod to
// run; one only its owner may read opens.
func TestSoftKMSKeyFileModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o644, false},
		{0o640, false},
		{0o604, false},
		{0o620, false},
		{0o666, false},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.ca.Close()
			keys, _ := filepath.Glob(filepath.Join(e.dir, "keys", "*.key"))
			if len(keys) != 2 {
				t.Fatalf("key files: %v", keys)
			}
			for _, p := range append(keys, filepath.Join(e.dir, "keys")) {
				want := os.FileMode(0o600)
				if p == filepath.Join(e.dir, "keys") {
					want = 0o700 | os.ModeDir
				}
				if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
					t.Errorf("%s written with mode %v (%v), want %v", p, fi.Mode(), err, want)
				}
			}
			if err := os.Chmod(keys[0], tt.mode); err != nil {
				t.Fatal(err)
			}
			c, err := Open(context.Background(), e.st, e.cfg)
			if tt.ok {
				if err != nil {
					t.Fatalf("Open with a key file %v = %v, want it opened", tt.mode, err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
			}
			if !errors.Is(err, ErrKeyFileMode) || !strings.Contains(err.Error(), "chmod 600 "+keys[0]) {
				t.Fatalf("Open with a key file %v = %v; want ErrKeyFileMode saying chmod 600 %s", tt.mode, err, keys[0])
			}
		})
	}
}
