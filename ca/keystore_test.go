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
