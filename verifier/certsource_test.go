package verifier

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/role"
)

// fakeSource is a CertificateSource over a map of certificates by serial
// (the RA's repository in miniature); down makes every lookup fail as an
// unreachable repository does.
type fakeSource struct {
	mu    sync.Mutex
	certs map[string][]byte
	down  bool
	calls atomic.Int64
	gate  chan struct{} // when set, each lookup waits for it
}

func newFakeSource(certs ...*x509.Certificate) *fakeSource {
	f := &fakeSource{certs: map[string][]byte{}}
	for _, c := range certs {
		f.put(c.SerialNumber, c.Raw)
	}
	return f
}

func (f *fakeSource) put(serial *big.Int, der []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.certs[serial.Text(16)] = der
}

func (f *fakeSource) setDown(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

func (f *fakeSource) FetchCertificate(ctx context.Context, serial *big.Int) ([]byte, error) {
	f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errors.New("connection refused")
	}
	der, ok := f.certs[serial.Text(16)]
	if !ok {
		return nil, fmt.Errorf("%w: %x", ErrCertificateNotFound, serial)
	}
	return der, nil
}

// TestCertificatesByIssuerSerial: with a bundle that carries no
// certificates, a signer is resolved from the Source, cached, and then
// checked like any other: unknown (no Source, not in it, Source down, a
// wrong answer, a foreign issuer) is refused CERT; revoked (bundle or
// feed) is refused REVOKED; a restarted Verifier looks it up again.
func TestCertificatesByIssuerSerial(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	s.bundle.Certificates = nil // compact: nothing embedded
	tariff := func(t testing.TB, id identity, ctr uint64) []byte {
		return sign(t, request(t, tmplTariff, userB, devB, ctr), id, false)
	}
	newV := func(t *testing.T, b *bundle.Bundle, src CertificateSource) *Verifier {
		t.Helper()
		o := s.options(b)
		if src != nil {
			o.Source = src
		}
		v, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	at := testNow.Add(time.Minute)
	refused := func(t *testing.T, v *Verifier, msg []byte, code, reason string) {
		t.Helper()
		d := v.Verify(msg, at)
		if d.Code != code || !strings.Contains(d.Reason, reason) {
			t.Fatalf("got %s %q, want %s containing %q", d.Code, d.Reason, code, reason)
		}
	}

	t.Run("no source: unknown signer refused", func(t *testing.T) {
		t.Parallel()
		refused(t, newV(t, s.bundle, nil), tariff(t, s.b, 1), CodeCERT, "the bundle carries no certificates")
	})
	t.Run("fetched, cached, accepted", func(t *testing.T) {
		t.Parallel()
		src := newFakeSource(s.b.cert)
		v := newV(t, s.bundle, src)
		for ctr := uint64(1); ctr <= 3; ctr++ {
			mustAccept(t, v, tariff(t, s.b, ctr))
		}
		if n := src.calls.Load(); n != 1 || v.CertificateFetches() != 1 {
			t.Fatalf("%d lookups (%d counted) for one signer, want 1", n, v.CertificateFetches())
		}
		reg := prometheus.NewRegistry()
		if _, err := NewMetrics(reg, v); err != nil {
			t.Fatal(err)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := -1.0
		for _, mf := range mfs {
			if mf.GetName() == "smki_verifier_certificate_lookups_total" {
				got = mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		if got != 1 {
			t.Fatalf("smki_verifier_certificate_lookups_total %v, want 1", got)
		}
		// A new bundle generation keeps the fetched certificate.
		b2 := cloneBundle(t, s.bundle)
		b2.IssuedAt = b2.IssuedAt.Add(time.Second)
		if err := v.SetBundle(b2); err != nil {
			t.Fatal(err)
		}
		mustAccept(t, v, tariff(t, s.b, 4))
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("%d lookups after a bundle swap, want still 1", n)
		}
	})
	t.Run("not in the source: refused, then remembered", func(t *testing.T) {
		t.Parallel()
		src := newFakeSource()
		v := newV(t, s.bundle, src)
		refused(t, v, tariff(t, s.b, 1), CodeCERT, "certificate not found")
		refused(t, v, tariff(t, s.b, 2), CodeCERT, "certificate not found")
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("%d lookups of one missing serial within %s, want 1", n, certNotFoundTTL)
		}
	})
	t.Run("source down: refused, never accepted", func(t *testing.T) {
		t.Parallel()
		src := newFakeSource(s.b.cert)
		src.setDown(true)
		v := newV(t, s.bundle, src)
		refused(t, v, tariff(t, s.b, 1), CodeCERT, "could not be reached")
		src.setDown(false) // a transient failure is not remembered
		mustAccept(t, v, tariff(t, s.b, 2))
	})
	t.Run("the source answers another certificate", func(t *testing.T) {
		t.Parallel()
		src := newFakeSource()
		src.put(s.b.cert.SerialNumber, s.a.cert.Raw)
		refused(t, newV(t, s.bundle, src), tariff(t, s.b, 1), CodeCERT, "answered another certificate")
	})
	t.Run("an issuer that is no configured CA is not looked up", func(t *testing.T) {
		t.Parallel()
		key := mustKey(t)
		tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: "Elsewhere CA", OrganizationalUnit: []string{"07"}},
			NotBefore: testNow.AddDate(-1, 0, 0), NotAfter: testNow.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageCertSign,
			BasicConstraintsValid: true, IsCA: true, SubjectKeyId: skid(&key.PublicKey)}
		elsewhere := mustCreate(t, tmpl, tmpl, &key.PublicKey, key)
		stranger := identity{}
		stranger.cert, stranger.key = s.pki.leaf(t, leafSpec{id: userB, roles: []role.UserRole{role.ImportSupplier},
			issuer: elsewhere, issuerKey: key})
		src := newFakeSource(stranger.cert)
		refused(t, newV(t, s.bundle, src), tariff(t, stranger, 1), CodeCERT, "not a configured CA")
		if n := src.calls.Load(); n != 0 {
			t.Fatalf("%d lookups for a foreign issuer, want 0", n)
		}
	})
	t.Run("a certificate of an untrusted PKI under our issuer name fails the chain", func(t *testing.T) {
		t.Parallel()
		other := newTestPKI(t, testNow) // same issuer name "CN=Z1,OU=07", other key
		forged := identity{}
		forged.cert, forged.key = other.leaf(t, leafSpec{id: userB, roles: []role.UserRole{role.ImportSupplier}})
		refused(t, newV(t, s.bundle, newFakeSource(forged.cert)), tariff(t, forged, 1), CodeCERT, "does not chain")
	})
	t.Run("revoked in the bundle: fetched and refused", func(t *testing.T) {
		t.Parallel()
		b := cloneBundle(t, s.bundle)
		b.Revoked = []bundle.RevokedCert{{Issuer: s.b.cert.Issuer.String(), Serial: s.b.cert.SerialNumber.Text(16), RevokedAt: testNow.Add(-time.Hour)}}
		refused(t, newV(t, b, newFakeSource(s.b.cert)), tariff(t, s.b, 1), CodeREVOKED, "revoked")
	})
	t.Run("revoked through the feed after it was cached", func(t *testing.T) {
		t.Parallel()
		v := newV(t, s.bundle, newFakeSource(s.b.cert))
		mustAccept(t, v, tariff(t, s.b, 1))
		if err := v.AddRevocations(&bundle.FeedPage{Seq: 8, IssuedAt: testNow, Revoked: []bundle.RevokedCert{
			{Issuer: s.b.cert.Issuer.String(), Serial: s.b.cert.SerialNumber.Text(16), RevokedAt: testNow}}}); err != nil {
			t.Fatal(err)
		}
		refused(t, v, tariff(t, s.b, 2), CodeREVOKED, "revoked")
	})
	t.Run("restart: looked up again; refused while the source is down", func(t *testing.T) {
		t.Parallel()
		src := newFakeSource(s.b.cert)
		mustAccept(t, newV(t, s.bundle, src), tariff(t, s.b, 1))
		restarted := newV(t, s.bundle, src)
		mustAccept(t, restarted, tariff(t, s.b, 2))
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("%d lookups over a restart, want 2", n)
		}
		src.setDown(true)
		refused(t, newV(t, s.bundle, src), tariff(t, s.b, 3), CodeCERT, "signer certificate unknown")
	})
	t.Run("concurrent misses share one lookup", func(t *testing.T) {
		t.Parallel()
		src := newFakeSource(s.b.cert)
		src.gate = make(chan struct{})
		v := newV(t, s.bundle, src)
		msgs := make([][]byte, 8)
		for i := range msgs {
			msgs[i] = tariff(t, s.b, uint64(i+1))
		}
		var wg sync.WaitGroup
		var accepted atomic.Int64
		for _, m := range msgs {
			wg.Go(func() {
				if d := v.Verify(m, at); d.Accepted() {
					accepted.Add(1)
				} else if d.Code != CodeREPLAY {
					t.Errorf("got %s %q", d.Code, d.Reason)
				}
			})
		}
		for src.calls.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // let the others queue on the one lookup
		close(src.gate)
		wg.Wait()
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("%d lookups for 8 concurrent requests of one signer, want 1", n)
		}
		if accepted.Load() == 0 {
			t.Fatal("none accepted")
		}
	})
	t.Run("a KeyInfo certificate still stands in without a lookup", func(t *testing.T) {
		t.Parallel()
		src := newFakeSource()
		mustAccept(t, newV(t, s.bundle, src), sign(t, request(t, tmplTariff, userB, devB, 1), s.b, true))
		if n := src.calls.Load(); n != 0 {
			t.Fatalf("%d lookups for a signer sent in KeyInfo, want 0", n)
		}
	})
}

// sourceFunc is a CertificateSource of one function.
type sourceFunc func(ctx context.Context, serial *big.Int) ([]byte, error)

func (f sourceFunc) FetchCertificate(ctx context.Context, serial *big.Int) ([]byte, error) {
	return f(ctx, serial)
}

// TestCertificateSourceMisbehaves: an embedder's CertificateSource that
// panics, or that does not honour its context and never answers, costs
// the request a CERT refusal within the lookup's bound, and the next
// request for the same signer is answered too. Before, a panic went up
// through Verify into the command path, and it left the lookup in flight
// for good: every later request naming that signer waited on it forever.
// A source that ignored its context held the request as long as it did.
func TestCertificateSourceMisbehaves(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	s.bundle.Certificates = nil
	at := testNow.Add(time.Minute)
	for _, tt := range []struct {
		name   string
		src    CertificateSource
		reason string
	}{
		{"panics", sourceFunc(func(context.Context, *big.Int) ([]byte, error) { panic("embedder's bug") }), "panicked"},
		{"ignores its context", sourceFunc(func(context.Context, *big.Int) ([]byte, error) { select {} }), "did not answer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := s.options(s.bundle)
			o.Source = tt.src
			v, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			for i := range uint64(2) {
				done := make(chan Decision, 1)
				go func() {
					defer func() {
						if r := recover(); r != nil {
							done <- Decision{Reason: fmt.Sprintf("panic: %v", r)}
						}
					}()
					done <- v.Verify(sign(t, request(t, tmplTariff, userB, devB, i+1), s.b, false), at)
				}()
				select {
				case d := <-done:
					if d.Code != CodeCERT || !strings.Contains(d.Reason, tt.reason) {
						t.Fatalf("request %d: %s %q (%s), want CERT saying %q", i+1, d.Decision, d.Code, d.Reason, tt.reason)
					}
				case <-time.After(4 * certFetchTimeout):
					t.Fatalf("request %d: no decision after %s (the lookup's bound is %s)", i+1, 4*certFetchTimeout, certFetchTimeout)
				}
			}
		})
	}
}
