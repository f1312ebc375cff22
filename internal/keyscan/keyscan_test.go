package keyscan

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.step.sm/crypto/pemutil"
)

func TestPlaintext(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, _ := x509.MarshalECPrivateKey(key)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	enc, err := pemutil.Serialize(key, pemutil.WithPKCS8(true), pemutil.WithPassword([]byte("pw")))
	if err != nil {
		t.Fatal(err)
	}
	legacyEnc := &pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte{1}}
	cert := &pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}
	root := t.TempDir()
	files := map[string][]byte{
		"a/sec1.pem":        pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"b/c/any-name.txt":  append([]byte("junk before\n"), append(pem.EncodeToMemory(cert), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)...),
		"keys/enc.key":      pem.EncodeToMemory(enc),
		"keys/legacy.key":   pem.EncodeToMemory(legacyEnc),
		"cert.pem":          pem.EncodeToMemory(cert),
		"notes/private.txt": []byte("PRIVATE KEY, but not PEM"),
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Plaintext(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{{"a/sec1.pem", "EC PRIVATE KEY"}, {"b/c/any-name.txt", "PRIVATE KEY"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Plaintext = %+v, want %+v", got, want)
	}
	if enc.Type != "ENCRYPTED PRIVATE KEY" {
		t.Fatalf("pemutil writes %q; the scan's idea of encrypted is out of date", enc.Type)
	}
}
