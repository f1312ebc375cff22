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
