package publish

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// fixture is a bbolt store for a Publisher test and a stand-in issuer
// that signs the certificates the test puts in it.
type fixture struct {
	st     store.Store
	key    *ecdsa.PrivateKey
	issuer *x509.Certificate
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, key: key, issuer: &x509.Certificate{Subject: pkix.Name{CommonName: "Z1", Organization: []string{"Issuer"}},
		PublicKey: &key.PublicKey}}
}

// certDER is a certificate with serial n, valid for a year from
// notBefore, signed by f's issuer.
func (f *fixture) certDER(t *testing.T, n int64, notBefore time.Time) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: notBefore, NotAfter: notBefore.AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.issuer, &f.key.PublicKey, f.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
