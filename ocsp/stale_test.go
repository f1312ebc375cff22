package ocsp

import (
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
