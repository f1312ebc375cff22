package verifier

import (
	"crypto/x509"
	"testing"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/internal/errcodes"
)

// FuzzOpenBundle: hostile envelopes never panic, never open without the
// trusted signer, and every refusal carries a stable E_ code.
func FuzzOpenBundle(f *testing.F) {
	s := newScenario(f)
	signed, err := bundle.Sign(s.bundle, s.bundleSigner.key, []*x509.Certificate{s.bundleSigner.cert, s.pki.ca})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add([]byte(`{"format":"smki-bundle/1","payload":"e30=","signature":"","chain":[]}`))
	roots := x509.NewCertPool()
	roots.AddCert(s.pki.root)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := bundle.Open(data, roots, testNow)
		if err != nil {
			errcodes.CodedFrom(t, err, data)
		}
		if err == nil && b.Validate() != nil {
			t.Fatal("opened an invalid bundle")
		}
	})
}

// FuzzDNKey: the DN parser never panics on any string.
func FuzzDNKey(f *testing.F) {
	for _, s := range []string{"CN=Z1,OU=07", "CN=a\\,b, OU=07", "2.5.4.3=#0c025a31", "CN=Z1+OU=07"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = dnKeyFromString(s)
	})
}
