package ocsp

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"math/big"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// failingCertifier certifies through p until fail is set.
type failingCertifier struct {
	*pki
	fail  atomic.Bool
	calls atomic.Int64 // IssueOCSPResponder calls
}

func (c *failingCertifier) IssueOCSPResponder(ctx context.Context, pub crypto.PublicKey, name string, validity time.Duration) (*x509.Certificate, error) {
	c.calls.Add(1)
	if c.fail.Load() {
		return nil, errors.New("issuing CA unavailable")
	}
	return c.pki.IssueOCSPResponder(ctx, pub, name, validity)
}

// TestResponseNeverOutlivesResponderCert: while the responder
// certificate's rotation keeps failing, no answer (good, its SHA-256
// variant, unknown) is signed with a nextUpdate past the certificate's
// notAfter, so a relying party can verify it for all its validity; once
// the certificate has expired, nothing is signed and every request is
// answered internalError.
func TestResponseNeverOutlivesResponderCert(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a := p.issue(901)
	cf := &failingCertifier{pki: p}
	r, err := New(context.Background(), Config{Store: p.st, Issuer: p.cert, Certifier: cf, Name: "test", Poll: time.Hour, Clock: p.clock})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Handler()
	notAfter := r.ResponderCertificate().NotAfter
	cf.fail.Store(true)
	never := &x509.Certificate{SerialNumber: big.NewInt(999901), RawIssuer: p.cert.RawSubject}
	type query struct {
		name string
		cert *x509.Certificate
		hash crypto.Hash
	}
	queries := []query{{"good SHA-1", a, crypto.SHA1}, {"good SHA-256", a, crypto.SHA256}, {"unknown", never, crypto.SHA1}}

	// Past the rotation (half the certificate's life), which fails: the
	// re-sign still runs, as Run's does.
	p.advance(DefaultResponderValidity*3/4 - time.Hour)
	if err := r.rotate(context.Background()); err == nil {
		t.Fatal("rotation succeeded with a failing Certifier")
	}
	if err := r.rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		der, _ := xocsp.CreateRequest(q.cert, p.cert, &xocsp.RequestOptions{Hash: q.hash})
		rec := do(h, der, false)
		resp, err := xocsp.ParseResponse(rec.Body.Bytes(), p.cert)
		if err != nil {
			t.Errorf("%s, certificate valid: HTTP %d, %v", q.name, rec.Code, err)
			continue
		}
		if resp.NextUpdate.After(resp.Certificate.NotAfter) || !resp.Certificate.NotAfter.Equal(notAfter) {
			t.Errorf("%s: nextUpdate %s past the responder certificate's notAfter %s", q.name, resp.NextUpdate, resp.Certificate.NotAfter)
		}
	}

	// Past the certificate's notAfter: nothing valid can be signed.
	p.advance(notAfter.Sub(p.clock()) + time.Second)
	if err := r.rebuild(context.Background()); !errors.Is(err, ErrResponderCert) {
		t.Errorf("rebuild with an expired responder certificate: %v, want %v", err, ErrResponderCert)
	}
	for _, q := range queries {
		der, _ := xocsp.CreateRequest(q.cert, p.cert, &xocsp.RequestOptions{Hash: q.hash})
		rec := do(h, der, false)
		_, err := xocsp.ParseResponse(rec.Body.Bytes(), nil)
		if !isStatus(err, xocsp.InternalError) || rec.Code != http.StatusInternalServerError {
			t.Errorf("%s, certificate expired: HTTP %d, %v, want internalError", q.name, rec.Code, err)
		}
	}
}

// TestRotationFailureBacksOff: while the responder certificate's rotation
// keeps failing, Run asks the Issuing OCA again after a wait that grows
// (1 s, doubling to a minute, by the responder's clock), not on every
// 200 ms tick: each attempt is a CA signature (an HSM operation) and an
// error in the log. Once the CA answers again, the rotation goes through.
func TestRotationFailureBacksOff(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	cf := &failingCertifier{pki: p}
	r, err := New(context.Background(), Config{Store: p.st, Issuer: p.cert, Certifier: cf, Name: "test", Poll: 2 * time.Millisecond, Clock: p.clock})
	if err != nil {
		t.Fatal(err)
	}
	first := r.ResponderCertificate()
	cf.fail.Store(true)
	p.advance(DefaultResponderValidity/2 + time.Minute) // past the rotation time
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s within 5s (calls %d)", what, cf.calls.Load())
			}
		}
	}
	base := cf.calls.Load() // New's own rotation
	waitFor("a first rotation attempt", func() bool { return cf.calls.Load() > base })
	time.Sleep(100 * time.Millisecond) // some 50 ticks with the clock standing still
	if n := cf.calls.Load() - base; n != 1 {
		t.Fatalf("%d rotation attempts in 50 ticks of an unmoving clock, want 1 (a wait before the next)", n)
	}
	p.advance(time.Second)
	waitFor("a second attempt 1 s later", func() bool { return cf.calls.Load()-base == 2 })
	p.advance(time.Second) // the wait has doubled to 2 s
	time.Sleep(50 * time.Millisecond)
	if n := cf.calls.Load() - base; n != 2 {
		t.Fatalf("%d attempts 1 s after the second, want 2 (the wait doubles)", n)
	}
	cf.fail.Store(false)
	p.advance(time.Second)
	waitFor("the rotation once the CA answers", func() bool {
		return r.ResponderCertificate().SerialNumber.Cmp(first.SerialNumber) != 0
	})
}
