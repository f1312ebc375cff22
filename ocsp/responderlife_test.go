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
	fail atomic.Bool
}

func (c *failingCertifier) IssueOCSPResponder(ctx context.Context, pub crypto.PublicKey, name string, validity time.Duration) (*x509.Certificate, error) {
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
