package verifier

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

// TestFinding4RevokedSignerRefused is issue 12's finding 4: a bundle or
// feed page whose envelope signer is revoked — by a CRL of the trust
// directory, by the feed, or by the bundle itself — is refused
// (bundle.ErrSignerRevoked), and signer rotation works without a gap: the
// page revoking the old signer comes signed by the new one, and from then
// on only the new signer's bundles and pages are accepted.
func TestFinding4RevokedSignerRefused(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	oldS := s.bundleSigner
	var newS identity
	newS.cert, newS.key = s.pki.leaf(t, leafSpec{id: eui64.MustParse("90-B3-D5-1F-30-00-00-02"),
		ou: role.RPDSPXMLSign.OU(), roles: []role.UserRole{role.OtherUser}})
	roots := x509.NewCertPool()
	roots.AddCert(s.pki.root)
	revokedAt := testNow.Add(-time.Minute)
	revokeOld := bundle.RevokedCert{Issuer: "CN=Z1,OU=07", Serial: oldS.cert.SerialNumber.Text(16), RevokedAt: revokedAt, Reason: 1}

	signB := func(b *bundle.Bundle, id identity) *bundle.Bundle {
		t.Helper()
		data, err := bundle.Sign(b, id.key, []*x509.Certificate{id.cert, s.pki.ca})
		if err != nil {
			t.Fatal(err)
		}
		opened, err := bundle.Open(data, roots, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if opened.Signer == nil || !opened.Signer.Equal(id.cert) {
			t.Fatal("bundle.Open does not return the signer certificate")
		}
		return opened
	}
	signP := func(p *bundle.FeedPage, id identity) *bundle.FeedPage {
		t.Helper()
		data, err := bundle.SignFeedPage(p, id.key, []*x509.Certificate{id.cert, s.pki.ca})
		if err != nil {
			t.Fatal(err)
		}
		opened, err := bundle.OpenFeedPage(data, roots, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if opened.Signer == nil || !opened.Signer.Equal(id.cert) {
			t.Fatal("bundle.OpenFeedPage does not return the signer certificate")
		}
		return opened
	}
	bundleAt := func(at time.Time, rev ...bundle.RevokedCert) *bundle.Bundle {
		b := s.baseBundle()
		b.IssuedAt = at
		b.Revoked = rev
		return b
	}
	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, bundle.ErrSignerRevoked) {
			t.Fatalf("%s: %v, want %v", what, err, bundle.ErrSignerRevoked)
		}
	}

	t.Run("rotation through the feed", func(t *testing.T) {
		v := s.verifier(t, func(o *Options) { o.Bundle = signB(bundleAt(testNow.Add(-10*time.Minute)), oldS) })
		// The old signer cannot publish its own revocation and carry on.
		refused("a page revoking its own signer", v.AddRevocations(signP(&bundle.FeedPage{Seq: 8, IssuedAt: testNow.Add(-30 * time.Second),
			Revoked: []bundle.RevokedCert{revokeOld}}, oldS)))
		// The new signer publishes it: accepted, no gap.
		if err := v.AddRevocations(signP(&bundle.FeedPage{Seq: 8, IssuedAt: testNow.Add(-30 * time.Second),
			Revoked: []bundle.RevokedCert{revokeOld}}, newS)); err != nil {
			t.Fatalf("the new signer's page revoking the old signer: %v", err)
		}
		refused("a page signed by the revoked signer", v.AddRevocations(signP(&bundle.FeedPage{Seq: 9, IssuedAt: testNow.Add(-20 * time.Second)}, oldS)))
		refused("a bundle signed by the revoked signer", v.SetBundle(signB(bundleAt(testNow.Add(-5*time.Minute)), oldS)))
		if err := v.SetBundle(signB(bundleAt(testNow.Add(-5*time.Minute), revokeOld), newS)); err != nil {
			t.Fatalf("the new signer's bundle: %v", err)
		}
		if err := v.AddRevocations(signP(&bundle.FeedPage{Seq: 9, IssuedAt: testNow.Add(-10 * time.Second)}, newS)); err != nil {
			t.Fatalf("the new signer's next page: %v", err)
		}
	})

	t.Run("revoked by a CRL of the trust directory", func(t *testing.T) {
		crl := s.pki.crl(t, revokedAt, testNow.Add(24*time.Hour), oldS.cert)
		_, err := New(Options{Roots: []*x509.Certificate{s.pki.root}, Intermediates: []*x509.Certificate{s.pki.ca},
			CRLs: [][]byte{crl}, Bundle: signB(bundleAt(testNow.Add(-10*time.Minute)), oldS), Clock: func() time.Time { return testNow }})
		refused("a bundle signed by a signer the ORL revokes", err)
		v, err := New(Options{Roots: []*x509.Certificate{s.pki.root}, Intermediates: []*x509.Certificate{s.pki.ca},
			CRLs: [][]byte{crl}, Bundle: signB(bundleAt(testNow.Add(-10*time.Minute)), newS), Clock: func() time.Time { return testNow }})
		if err != nil {
			t.Fatal(err)
		}
		refused("a page signed by a signer the ORL revokes", v.AddRevocations(signP(&bundle.FeedPage{Seq: 8, IssuedAt: testNow}, oldS)))
	})

	t.Run("a bundle that lists its own signer", func(t *testing.T) {
		_, err := New(s.options(signB(bundleAt(testNow.Add(-10*time.Minute), revokeOld), oldS)))
		refused("a bundle revoking its own signer", err)
	})

	t.Run("a revocation still to come does not refuse", func(t *testing.T) {
		later := revokeOld
		later.RevokedAt = testNow.Add(time.Hour)
		if _, err := New(s.options(signB(bundleAt(testNow.Add(-10*time.Minute), later), oldS))); err != nil {
			t.Fatalf("a signer revoked only in the future: %v", err)
		}
	})
}
