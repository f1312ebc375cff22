package repo

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// pki is a test Root and Issuing OCA with a store holding what they
// issued, on a clock the test moves.
type pki struct {
	t             testing.TB
	st            store.Store
	key           *ecdsa.PrivateKey
	root, issuing *x509.Certificate
	leafDER       []byte // one real certificate, reused as the bytes of bulk fixtures

	mu  sync.Mutex
	now time.Time
}

func newPKI(t testing.TB) *pki {
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
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mk := func(serial int64, cn string, parent *x509.Certificate) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	p := &pki{t: t, st: st, key: key, now: now}
	p.root = mk(1, "Root", nil)
	p.issuing = mk(2, "Issuing", p.root)
	p.leafDER = p.sign(big.NewInt(3))
	return p
}

func (p *pki) clock() time.Time { p.mu.Lock(); defer p.mu.Unlock(); return p.now }

func (p *pki) advance(d time.Duration) { p.mu.Lock(); p.now = p.now.Add(d); p.mu.Unlock() }

func (p *pki) sign(serial *big.Int) []byte {
	p.t.Helper()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{OrganizationalUnit: []string{"87"}},
		NotBefore: p.now.Add(-time.Hour), NotAfter: p.now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.issuing, p.key.Public(), p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	return der
}

// issue records a new, really signed certificate.
func (p *pki) issue(serial int64, user, party, role string) store.Certificate {
	p.t.Helper()
	der := p.sign(big.NewInt(serial))
	c := store.Certificate{Serial: big.NewInt(serial).Text(16), Issuer: "issuing-ca", UserID: user, PartyID: party,
		Role: role, Profile: "xml-signing", NotBefore: p.now.Add(-time.Hour), NotAfter: p.now.AddDate(1, 0, 0),
		IssuedAt: p.clock(), DER: der, Status: store.StatusGood}
	if err := p.st.Update(context.Background(), func(tx store.Tx) error { return tx.PutCertificate(c) }); err != nil {
		p.t.Fatal(err)
	}
	return c
}

func (p *pki) revoke(serial string, reason int) {
	p.t.Helper()
	err := p.st.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.Revoke(serial, reason, p.clock())
		return err
	})
	if err != nil {
		p.t.Fatal(err)
	}
}

// publishCRL stores a CRL named name (the bytes are a real CRL of the
// Issuing OCA) with the given lifetime from now.
func (p *pki) publishCRL(name string, number int64, life time.Duration) store.CRL {
	p.t.Helper()
	now := p.clock()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(number),
		ThisUpdate: now, NextUpdate: now.Add(life)}, p.issuing, p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	crl := store.CRL{Name: name, Number: uint64(number), ThisUpdate: now, NextUpdate: now.Add(life), DER: der}
	if err := p.st.Update(context.Background(), func(tx store.Tx) error { return tx.PutCRL(crl) }); err != nil {
		p.t.Fatal(err)
	}
	return crl
}

func (p *pki) handler(t testing.TB, rate float64, burst int) *Handler {
	t.Helper()
	h, err := New(Config{Store: p.st, Root: p.root, Issuing: p.issuing, Rate: rate, Burst: burst, Clock: p.clock})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
