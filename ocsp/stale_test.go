package ocsp

import (
	"crypto"
	"crypto/x509"
	"math/big"
	"net/http"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// TestResponderServesNoExpiredResponse: a cached response past its
// nextUpdate (the re-sign at half its life has failed ever since, the
// store being unreachable) is not served as if current: the answer is
// internalError (HTTP 500, not cacheable), by POST and GET, so relying
// parties retry or fall back instead of holding a status the responder
// could not refresh.
func TestResponderServesNoExpiredResponse(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a := p.issue(801)
	r := p.responder(t, time.Hour) // Run not started: nothing re-signs
	h := r.Handler()
	if resp := ask(t, h, a, p.cert, false); resp.Status != xocsp.Good {
		t.Fatalf("status %d, want good", resp.Status)
	}
	p.advance(DefaultResponseLifetime + time.Second)
	der, _ := xocsp.CreateRequest(a, p.cert, nil)
	for _, get := range []bool{false, true} {
		rec := do(h, der, get)
		resp, err := xocsp.ParseResponse(rec.Body.Bytes(), nil)
		if !isStatus(err, xocsp.InternalError) || rec.Code != http.StatusInternalServerError {
			next := "none"
			if resp != nil {
				next = resp.NextUpdate.String()
			}
			t.Errorf("get=%v, past nextUpdate: HTTP %d, %v (nextUpdate %s, now %s), want internalError",
				get, rec.Code, err, next, p.clock())
		}
	}
}

// TestResponderServesNoExpiredUnknown: a cached "unknown" answer is held
// to its nextUpdate like a good or revoked one (Responder.current): past
// it, the cached bytes are not served; the serial is asked about as a
// miss (the store read again, a fresh "unknown" signed). Run is not
// started, so the rebuild that would clear the "unknown" cache never
// happens, as when it keeps failing.
func TestResponderServesNoExpiredUnknown(t *testing.T) {
	t.Parallel()
	for _, hash := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		for _, get := range []bool{false, true} {
			p := newPKI(t)
			h := p.responder(t, time.Hour).Handler() // Run not started: nothing re-signs
			never := &x509.Certificate{SerialNumber: big.NewInt(999801), RawIssuer: p.cert.RawSubject}
			der, err := xocsp.CreateRequest(never, p.cert, &xocsp.RequestOptions{Hash: hash})
			if err != nil {
				t.Fatal(err)
			}
			for _, step := range []time.Duration{0, DefaultResponseLifetime + time.Second} {
				p.advance(step)
				rec := do(h, der, get)
				resp, err := xocsp.ParseResponse(rec.Body.Bytes(), nil)
				if err != nil || resp.Status != xocsp.Unknown || !p.clock().Before(resp.NextUpdate) {
					next := "none"
					if resp != nil {
						next = resp.NextUpdate.String()
					}
					t.Errorf("%v get=%v after +%s: HTTP %d, %v (nextUpdate %s, now %s), want a current unknown",
						hash, get, step, rec.Code, err, next, p.clock())
				}
			}
		}
	}
}
