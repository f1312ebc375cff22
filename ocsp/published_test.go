package ocsp

import (
	"bytes"
	"context"
	"crypto/x509"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/smki/smki/store"
)

// TestPublishedServesTheRAsBytes: a Responder with Publish writes every
// response it signs to the store, and a Published responder on the same
// store (smki repo serve) answers with exactly those bytes and headers:
// good, then revoked once the Responder has synced the revocation; a serial
// with no published response and another issuer's certificate are
// unauthorized, garbage malformedRequest.
func TestPublishedServesTheRAsBytes(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a, b := p.issue(601), p.issue(602)
	r, err := New(context.Background(), Config{Store: p.st, Issuer: p.cert, Certifier: p, Name: "test", Poll: time.Hour,
		Clock: p.clock, Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublished(PublishedConfig{Store: p.st, Issuer: p.cert})
	if err != nil {
		t.Fatal(err)
	}
	same := func(c *x509.Certificate, get bool) *xocsp.Response {
		t.Helper()
		der, _ := xocsp.CreateRequest(c, p.cert, nil)
		ra, rs := do(r.Handler(), der, get), do(pub.Handler(), der, get)
		if !bytes.Equal(ra.Body.Bytes(), rs.Body.Bytes()) || ra.Code != rs.Code {
			t.Fatalf("serial %x: published HTTP %d %d bytes, responder HTTP %d %d bytes", c.SerialNumber, rs.Code, rs.Body.Len(), ra.Code, ra.Body.Len())
		}
		for _, k := range []string{"Content-Type", "Last-Modified", "Expires", "Etag"} {
			if ra.Header().Get(k) != rs.Header().Get(k) {
				t.Errorf("%s: published %q, responder %q", k, rs.Header().Get(k), ra.Header().Get(k))
			}
		}
		return ask(t, pub.Handler(), c, p.cert, get)
	}
	for _, get := range []bool{false, true} {
		if resp := same(a, get); resp.Status != xocsp.Good {
			t.Errorf("published status %d, want good", resp.Status)
		}
	}

	at := p.now.Add(-time.Minute)
	p.revoke(b, 1, at)
	if resp := ask(t, pub.Handler(), b, p.cert, false); resp.Status != xocsp.Good {
		t.Errorf("published before the responder synced: status %d; the test expects the old answer", resp.Status)
	}
	if err := r.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if resp := same(b, false); resp.Status != xocsp.Revoked || resp.RevocationReason != 1 || !resp.RevokedAt.Equal(at) {
		t.Errorf("published after sync: status %d reason %d at %s", resp.Status, resp.RevocationReason, resp.RevokedAt)
	}

	// Nothing published for this serial: unauthorized (RFC 5019 2.2.3).
	never := &x509.Certificate{SerialNumber: big.NewInt(999999), RawIssuer: p.cert.RawSubject}
	der, _ := xocsp.CreateRequest(never, p.cert, nil)
	if _, err := xocsp.ParseResponse(do(pub.Handler(), der, false).Body.Bytes(), nil); !isStatus(err, xocsp.Unauthorized) {
		t.Errorf("never issued: %v, want unauthorized", err)
	}
	other := newPKI(t)
	der, _ = xocsp.CreateRequest(other.issue(601), other.cert, nil)
	if _, err := xocsp.ParseResponse(do(pub.Handler(), der, false).Body.Bytes(), nil); !isStatus(err, xocsp.Unauthorized) {
		t.Errorf("other issuer: %v, want unauthorized", err)
	}
	for _, get := range []bool{false, true} {
		if _, err := xocsp.ParseResponse(do(pub.Handler(), []byte("not an OCSP request"), get).Body.Bytes(), nil); !isStatus(err, xocsp.Malformed) {
			t.Errorf("garbage (get=%v): %v, want malformedRequest", get, err)
		}
	}
	rec := httptest.NewRecorder()
	pub.Wrap(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/repo/index.json", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("Wrap passed /repo/ on with HTTP %d", rec.Code)
	}
}

// TestPublishNeverContradictsTheStore: a "good" response signed from a
// read before a revocation (this instance's stale cache, or another RA
// sharing the store) is not written over the store's revoked certificate.
func TestPublishNeverContradictsTheStore(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a := p.issue(701)
	r, err := New(context.Background(), Config{Store: p.st, Issuer: p.cert, Certifier: p, Name: "test", Poll: time.Hour,
		Clock: p.clock, Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	stale := r.cache[a.SerialNumber.Text(16)]
	p.revoke(a, 1, p.now)
	if err := r.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.publish(context.Background(), map[string]*entry{a.SerialNumber.Text(16): stale}); err != nil {
		t.Fatal(err)
	}
	pub, _ := NewPublished(PublishedConfig{Store: p.st, Issuer: p.cert})
	if resp := ask(t, pub.Handler(), a, p.cert, false); resp.Status != xocsp.Revoked {
		t.Errorf("published status %d after a stale good was offered, want revoked", resp.Status)
	}
	var n int
	p.st.View(context.Background(), func(tx store.Tx) error {
		recs, err := tx.ListRecords(RecordKind, "", 0)
		n = len(recs)
		return err
	})
	if n != 1 {
		t.Errorf("%d published records, want 1", n)
	}
}
