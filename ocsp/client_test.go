package ocsp

import (
	"context"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestQuery: the client's reading of good, revoked and unknown, and its
// refusals (fails closed): another issuer's signature, a stale answer, an
// OCSP error status, something that is not OCSP, an HTTP error.
func TestQuery(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	c := p.issue(0x51)
	r := p.responder(t, time.Hour)
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	url := srv.URL + "/ocsp"
	ctx := context.Background()

	a, err := Query(ctx, nil, url, p.cert, c.SerialNumber, p.clock())
	if err != nil || a.Status != "good" || a.Responder == nil || !a.Responder.Equal(r.ResponderCertificate()) {
		t.Fatalf("good: %+v, %v", a, err)
	}
	if a, err := Query(ctx, nil, url, p.cert, big.NewInt(0x999), p.clock()); err != nil || a.Status != "unknown" {
		t.Errorf("never issued: %+v, %v", a, err)
	}
	at := p.clock().Add(-time.Minute)
	p.revoke(c, 1, at)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if a, err := Query(ctx, nil, url, p.cert, c.SerialNumber, p.clock()); err != nil || a.Status != "revoked" || a.Reason != 1 || !a.RevokedAt.Equal(at) {
		t.Errorf("revoked: %+v, %v", a, err)
	}

	other := newPKI(t)
	if _, err := Query(ctx, nil, url, other.cert, c.SerialNumber, p.clock()); !errors.Is(err, ErrResponse) {
		t.Errorf("asked as another issuer: %v, want E_OCSP_RESPONSE", err)
	}
	if _, err := Query(ctx, nil, url, p.cert, c.SerialNumber, p.clock().Add(48*time.Hour)); !errors.Is(err, ErrResponse) {
		t.Errorf("past nextUpdate: %v, want E_OCSP_RESPONSE", err)
	}
	for name, h := range map[string]http.HandlerFunc{
		"malformedRequest": func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte{0x30, 0x03, 0x0a, 0x01, 0x01}) },
		"not OCSP":         func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") },
	} {
		s := httptest.NewServer(h)
		if _, err := Query(ctx, nil, s.URL, p.cert, c.SerialNumber, p.clock()); !errors.Is(err, ErrResponse) {
			t.Errorf("%s: %v, want E_OCSP_RESPONSE", name, err)
		}
		s.Close()
	}
	s := httptest.NewServer(http.NotFoundHandler())
	defer s.Close()
	if _, err := Query(ctx, nil, s.URL, p.cert, c.SerialNumber, p.clock()); !errors.Is(err, ErrQuery) || !strings.Contains(err.Error(), "is it an OCSP responder?") {
		t.Errorf("HTTP 404: %v, want E_OCSP_QUERY asking whether it is a responder", err)
	}
	// What the responder sends when its store cannot confirm a status.
	ie := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte{0x30, 0x03, 0x0a, 0x01, 0x02})
	}))
	defer ie.Close()
	if _, err := Query(ctx, nil, ie.URL, p.cert, c.SerialNumber, p.clock()); !errors.Is(err, ErrQuery) ||
		!strings.Contains(err.Error(), "internal error") || !strings.Contains(err.Error(), "retry") {
		t.Errorf("HTTP 500 internalError: %v, want E_OCSP_QUERY saying the responder could not give a status", err)
	}
}
