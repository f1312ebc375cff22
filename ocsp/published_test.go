package ocsp

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/smki/smki/store"
)

// publishing is a responder over p that publishes its answers (polling
// hourly, at p's clock) and a Published over the same store: the RA's
// responder and `smki repo serve`'s.
func (p *pki) publishing(t *testing.T) (*Responder, *Published) {
	t.Helper()
	r, err := New(context.Background(), Config{Store: p.st, Issuer: p.cert, Certifier: p, Name: "test", Poll: time.Hour,
		Clock: p.clock, Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublished(PublishedConfig{Store: p.st, Issuer: p.cert})
	if err != nil {
		t.Fatal(err)
	}
	return r, pub
}

// TestPublishedServesTheRAsBytes: a Responder with Publish writes every
// response it signs to the store, and a Published responder on the same
// store (smki repo serve) answers with exactly those bytes and headers:
// good, then revoked once the Responder has synced the revocation
// (internalError before: TestPublishedAnswersOnlyWhatTheStoreSays); a serial
// with no published response and another issuer's certificate are
// unauthorized, garbage malformedRequest.
func TestPublishedServesTheRAsBytes(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a, b := p.issue(601), p.issue(602)
	r, pub := p.publishing(t)
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
	der, _ := xocsp.CreateRequest(b, p.cert, nil)
	if _, err := xocsp.ParseResponse(do(pub.Handler(), der, false).Body.Bytes(), nil); !isStatus(err, xocsp.InternalError) {
		t.Errorf("published before the responder synced: %v, want internalError (the store says revoked)", err)
	}
	if err := r.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if resp := same(b, false); resp.Status != xocsp.Revoked || resp.RevocationReason != 1 || !resp.RevokedAt.Equal(at) {
		t.Errorf("published after sync: status %d reason %d at %s", resp.Status, resp.RevocationReason, resp.RevokedAt)
	}

	// Nothing published for this serial: unauthorized (RFC 5019 2.2.3).
	never := &x509.Certificate{SerialNumber: big.NewInt(999999), RawIssuer: p.cert.RawSubject}
	der, _ = xocsp.CreateRequest(never, p.cert, nil)
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

// TestPublishedAnswersOnlyWhatTheStoreSays: Published serves a published
// response only while the store gives the certificate the same status.
// A certificate revoked in the store whose "revoked" is not published
// (another RA instance revoked it and its responder has not synced, or
// publishing fails) is not answered with the published "good" but
// internalError (HTTP 500, no caching), as is a published response with
// no certificate in the store; once the "revoked" is published it is
// answered, and an unchanged certificate is answered good, both with
// their caching headers. Response (cfssl's Source) says the same.
func TestPublishedAnswersOnlyWhatTheStoreSays(t *testing.T) {
	t.Parallel()
	const notServed = -1
	for _, tc := range []struct {
		name string
		// change runs once the Responder r (publishing through st) has
		// published c's "good", and returns the certificate to ask about.
		change  func(t *testing.T, p *pki, st *failUpdates, r *Responder, c *x509.Certificate) *x509.Certificate
		want    int   // xocsp.Good, xocsp.Revoked or notServed
		wantErr error // Response's error when notServed
	}{
		{"good, unchanged", func(t *testing.T, p *pki, st *failUpdates, r *Responder, c *x509.Certificate) *x509.Certificate {
			return c
		}, xocsp.Good, nil},
		{"revoked, not yet published", func(t *testing.T, p *pki, st *failUpdates, r *Responder, c *x509.Certificate) *x509.Certificate {
			p.revoke(c, 1, p.clock()) // by another RA instance: r has not synced
			return c
		}, notServed, ErrNotPublished},
		{"revoked, publishing fails", func(t *testing.T, p *pki, st *failUpdates, r *Responder, c *x509.Certificate) *x509.Certificate {
			st.broken.Store(true)
			p.revoke(c, 1, p.clock())
			if err := r.Sync(context.Background()); err == nil {
				t.Fatal("Sync succeeded while publishing fails")
			}
			return c
		}, notServed, ErrNotPublished},
		{"revoked and published", func(t *testing.T, p *pki, st *failUpdates, r *Responder, c *x509.Certificate) *x509.Certificate {
			p.revoke(c, 1, p.clock())
			if err := r.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			return c
		}, xocsp.Revoked, nil},
		{"published, no certificate in the store", func(t *testing.T, p *pki, st *failUpdates, r *Responder, c *x509.Certificate) *x509.Certificate {
			err := p.st.Update(context.Background(), func(tx store.Tx) error {
				v, err := tx.GetRecord(RecordKind, c.SerialNumber.Text(16))
				if err != nil {
					return err
				}
				return tx.PutRecord(RecordKind, "abcdef", v)
			})
			if err != nil {
				t.Fatal(err)
			}
			return &x509.Certificate{SerialNumber: big.NewInt(0xabcdef), RawIssuer: p.cert.RawSubject}
		}, notServed, ErrStore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPKI(t)
			st := &failUpdates{Store: p.st}
			c := p.issue(801)
			r, err := New(context.Background(), Config{Store: st, Issuer: p.cert, Certifier: p, Name: "test", Poll: time.Hour,
				Clock: p.clock, Publish: true})
			if err != nil {
				t.Fatal(err)
			}
			pub, err := NewPublished(PublishedConfig{Store: p.st, Issuer: p.cert})
			if err != nil {
				t.Fatal(err)
			}
			if resp := ask(t, pub.Handler(), c, p.cert, false); resp.Status != xocsp.Good {
				t.Fatalf("published before the change: status %d, want good", resp.Status)
			}
			p.advance(time.Minute)
			target := tc.change(t, p, st, r, c)
			der, _ := xocsp.CreateRequest(target, p.cert, nil)
			for _, get := range []bool{false, true} {
				rec := do(pub.Handler(), der, get)
				h := rec.Header()
				if tc.want == notServed {
					_, perr := xocsp.ParseResponse(rec.Body.Bytes(), nil)
					if rec.Code != http.StatusInternalServerError || !isStatus(perr, xocsp.InternalError) {
						t.Errorf("get=%v: HTTP %d, %v; want 500 internalError", get, rec.Code, perr)
					}
					if h.Get("Cache-Control") != "max-age=0, no-cache" || h.Get("Etag") != "" || h.Get("Expires") != "" || h.Get("Last-Modified") != "" {
						t.Errorf("get=%v: caching headers on internalError: %v", get, h)
					}
					continue
				}
				if resp := ask(t, pub.Handler(), target, p.cert, get); resp.Status != tc.want {
					t.Errorf("get=%v: status %d, want %d", get, resp.Status, tc.want)
				}
				if cc := h.Get("Cache-Control"); !strings.HasPrefix(cc, "max-age=") || strings.HasPrefix(cc, "max-age=0") ||
					!strings.Contains(cc, "public") || h.Get("Etag") == "" || h.Get("Expires") == "" || h.Get("Last-Modified") == "" {
					t.Errorf("get=%v: caching headers %v", get, h)
				}
			}
			req, err := xocsp.ParseRequest(der)
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := pub.Response(req)
			if tc.want == notServed {
				if b != nil || !errors.Is(err, tc.wantErr) {
					t.Errorf("Response: %d bytes, %v; want no response and %v", len(b), err, tc.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(b, do(pub.Handler(), der, false).Body.Bytes()) {
				t.Errorf("Response: %d bytes, %v; want the bytes Handler serves", len(b), err)
			}
		})
	}
}
