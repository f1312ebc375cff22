package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// pki is a test Issuing OCA with a store holding its certificates. Its
// Certifier issues responder certificates the way ca.CA does (the shape
// itself is ca's test); here only the responder's use of them matters.
type pki struct {
	t      testing.TB
	st     store.Store
	key    *ecdsa.PrivateKey
	cert   *x509.Certificate
	issued atomic.Int64 // responder certificates issued
	mu     sync.Mutex
	now    time.Time
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := mustKey(t)
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Z1", OrganizationalUnit: []string{"07"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: []byte{1, 2, 3}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &pki{t: t, st: st, key: key, cert: cert, now: now}
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (p *pki) clock() time.Time { p.mu.Lock(); defer p.mu.Unlock(); return p.now }
func (p *pki) advance(d time.Duration) {
	p.mu.Lock()
	p.now = p.now.Add(d)
	p.mu.Unlock()
}

func (p *pki) IssueOCSPResponder(_ context.Context, pub crypto.PublicKey, name string, validity time.Duration) (*x509.Certificate, error) {
	n := p.issued.Add(1)
	now := p.clock()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1000 + n), Subject: pkix.Name{CommonName: "OCSP responder " + name},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(validity), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, pub, p.key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// issue records a new certificate of the Issuing OCA in the store.
func (p *pki) issue(serial int64) *x509.Certificate {
	p.t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{OrganizationalUnit: []string{"87"}},
		NotBefore: p.now.Add(-time.Hour), NotAfter: p.now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, mustKey(p.t).Public(), p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	err = p.st.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutCertificate(store.Certificate{Serial: cert.SerialNumber.Text(16), Issuer: "issuing-ca",
			Profile: "xml-signing", NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, IssuedAt: p.now, DER: der})
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return cert
}

func (p *pki) revoke(c *x509.Certificate, reason int, at time.Time) {
	p.t.Helper()
	err := p.st.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.Revoke(c.SerialNumber.Text(16), reason, at)
		return err
	})
	if err != nil {
		p.t.Fatal(err)
	}
}

func (p *pki) responder(t testing.TB, poll time.Duration) *Responder {
	t.Helper()
	r, err := New(context.Background(), Config{Store: p.st, Issuer: p.cert, Certifier: p, Name: "test",
		Poll: poll, Clock: p.clock})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ask POSTs (or GETs) an OCSP request for c and parses the answer,
// checking its signature chains to the Issuing OCA through a delegated
// responder certificate with id-kp-OCSPSigning.
func ask(t testing.TB, h http.Handler, c, issuer *x509.Certificate, get bool) *xocsp.Response {
	t.Helper()
	der, err := xocsp.CreateRequest(c, issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := do(h, der, get)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/ocsp-response" {
		t.Fatalf("HTTP %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	resp, err := xocsp.ParseResponseForCert(rec.Body.Bytes(), c, issuer)
	if err != nil {
		t.Fatalf("response does not verify: %v", err)
	}
	if resp.Certificate == nil || len(resp.Certificate.ExtKeyUsage) != 1 || resp.Certificate.ExtKeyUsage[0] != x509.ExtKeyUsageOCSPSigning {
		t.Fatalf("not signed by a delegated OCSP responder: %+v", resp.Certificate)
	}
	return resp
}

func do(h http.Handler, der []byte, get bool) *httptest.ResponseRecorder {
	var req *http.Request
	if get {
		req = httptest.NewRequest(http.MethodGet, "/ocsp/"+base64.StdEncoding.EncodeToString(der), nil)
	} else {
		req = httptest.NewRequest(http.MethodPost, "/ocsp", bytes.NewReader(der))
		req.Header.Set("Content-Type", "application/ocsp-request")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestResponderStatuses(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a, b := p.issue(101), p.issue(102)
	p.revoke(b, 1, p.now.Add(-time.Minute))
	r := p.responder(t, time.Hour)
	h := r.Handler()

	for _, get := range []bool{false, true} {
		t.Run(fmt.Sprintf("get=%v", get), func(t *testing.T) {
			if resp := ask(t, h, a, p.cert, get); resp.Status != xocsp.Good {
				t.Errorf("issued certificate: status %d, want good", resp.Status)
			}
			resp := ask(t, h, b, p.cert, get)
			if resp.Status != xocsp.Revoked || resp.RevocationReason != 1 || !resp.RevokedAt.Equal(p.now.Add(-time.Minute)) {
				t.Errorf("revoked certificate: status %d reason %d at %s", resp.Status, resp.RevocationReason, resp.RevokedAt)
			}
			never := &x509.Certificate{SerialNumber: big.NewInt(999999), RawIssuer: p.cert.RawSubject}
			der, _ := xocsp.CreateRequest(never, p.cert, nil)
			rec := do(h, der, get)
			resp, err := xocsp.ParseResponse(rec.Body.Bytes(), p.cert)
			if err != nil || resp.Status != xocsp.Unknown {
				t.Errorf("never issued: %v, %+v", err, resp)
			}
		})
	}

	// Another issuer's certificate: unauthorized.
	other := newPKI(t)
	oc := other.issue(101)
	der, _ := xocsp.CreateRequest(oc, other.cert, nil)
	if _, err := xocsp.ParseResponse(do(h, der, false).Body.Bytes(), nil); err == nil || !isStatus(err, xocsp.Unauthorized) {
		t.Errorf("other issuer: %v, want unauthorized", err)
	}
	// Garbage: malformedRequest, by POST and GET.
	for _, get := range []bool{false, true} {
		rec := do(h, []byte("not an OCSP request"), get)
		if _, err := xocsp.ParseResponse(rec.Body.Bytes(), nil); !isStatus(err, xocsp.Malformed) {
			t.Errorf("garbage (get=%v): HTTP %d, %v, want malformedRequest", get, rec.Code, err)
		}
	}
	// An oversized body is refused before parsing.
	if rec := do(h, make([]byte, maxRequestBody+1), false); rec.Code == http.StatusOK {
		t.Errorf("oversized body: HTTP %d", rec.Code)
	}
	// Conditional GET: same ETag, 304.
	der, _ = xocsp.CreateRequest(a, p.cert, nil)
	first := do(h, der, true)
	req := httptest.NewRequest(http.MethodGet, "/ocsp/"+base64.StdEncoding.EncodeToString(der), nil)
	req.Header.Set("If-None-Match", first.Header().Get("ETag"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if first.Header().Get("ETag") == "" || rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET: ETag %q, HTTP %d", first.Header().Get("ETag"), rec.Code)
	}
}

func isStatus(err error, s xocsp.ResponseStatus) bool {
	re, ok := err.(xocsp.ResponseError)
	return ok && re.Status == s
}

// TestResponderFollowsSequences: Run picks up issuance and revocation
// from the store's sequences, without a restart.
func TestResponderFollowsSequences(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a := p.issue(201)
	r := p.responder(t, 20*time.Millisecond)
	h := r.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)

	b := p.issue(202) // issued after start
	waitStatus(t, h, b, p.cert, xocsp.Good)
	at := p.now.Add(-time.Second)
	p.revoke(a, 4, at)
	resp := waitStatus(t, h, a, p.cert, xocsp.Revoked)
	if resp.RevocationReason != 4 || !resp.RevokedAt.Equal(at) {
		t.Errorf("revoked: reason %d at %s", resp.RevocationReason, resp.RevokedAt)
	}
}

func waitStatus(t *testing.T, h http.Handler, c, issuer *x509.Certificate, want int) *xocsp.Response {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp := ask(t, h, c, issuer, false)
		if resp.Status == want {
			return resp
		}
		if time.Now().After(deadline) {
			t.Fatalf("serial %x: status %d after 5s, want %d", c.SerialNumber, resp.Status, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestResponderRotates: past half the responder certificate's life, Run
// gets a new one and re-signs every response with it.
func TestResponderRotates(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a := p.issue(301)
	r := p.responder(t, 10*time.Millisecond)
	first := r.ResponderCertificate()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	deadline := time.Now().Add(5 * time.Second)
	// Past half the responses' life first, as a running responder gets
	// there: Run re-signs them (TestResponderServesNoExpiredResponse: a
	// jump past their nextUpdate would leave none servable meanwhile).
	p.advance(DefaultResponseLifetime/2 + time.Second)
	for resp := ask(t, r.Handler(), a, p.cert, false); !resp.ThisUpdate.Equal(p.clock()); resp = ask(t, r.Handler(), a, p.cert, false) {
		if time.Now().After(deadline) {
			t.Fatal("responses not re-signed at half their life within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.advance(DefaultResponderValidity/2 - DefaultResponseLifetime/2)
	for r.ResponderCertificate().SerialNumber.Cmp(first.SerialNumber) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no rotation within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for time.Now().Before(deadline) {
		resp := ask(t, r.Handler(), a, p.cert, false)
		if resp.Certificate.SerialNumber.Cmp(r.ResponderCertificate().SerialNumber) == 0 && resp.ThisUpdate.Equal(p.clock()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("responses not re-signed with the new responder certificate")
}

func TestWrapRoutes(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	r := p.responder(t, time.Hour)
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "next") })
	h := r.Wrap(next)
	for path, wantNext := range map[string]bool{"/ocsp": false, "/ocsp/": false, "/ocspx": true, "/repo/certs": true} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if got := rec.Body.String() == "next"; got != wantNext {
			t.Errorf("%s: routed to next = %v, want %v", path, got, wantNext)
		}
	}
}

// TestFastPathMatchesCFSSL: a cached answer carries the same body and
// headers as cfssl's Responder gives for the same request, for POST, GET
// and a conditional GET.
func TestFastPathMatchesCFSSL(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a := p.issue(501)
	r := p.responder(t, time.Hour)
	der, _ := xocsp.CreateRequest(a, p.cert, nil)
	b64 := base64.StdEncoding.EncodeToString(der)
	for _, tc := range []struct {
		name, method, fast, cf string
		etag                   bool
	}{
		{"POST", http.MethodPost, "/ocsp", "/", false},
		{"GET", http.MethodGet, "/ocsp/" + b64, b64, false},
		{"conditional GET", http.MethodGet, "/ocsp/" + b64, b64, true},
	} {
		serve := func(h http.Handler, path string) *httptest.ResponseRecorder {
			var body io.Reader
			if tc.method == http.MethodPost {
				body = bytes.NewReader(der)
			}
			req := httptest.NewRequest(tc.method, "/", body)
			req.URL.Path = path
			if tc.etag {
				req.Header.Set("If-None-Match", do(r.Handler(), der, true).Header().Get("ETag"))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		fast, ref := serve(r.Handler(), tc.fast), serve(r.http, tc.cf)
		if fast.Code != ref.Code || !bytes.Equal(fast.Body.Bytes(), ref.Body.Bytes()) {
			t.Errorf("%s: fast path HTTP %d (%d bytes), cfssl HTTP %d (%d bytes)", tc.name, fast.Code, fast.Body.Len(), ref.Code, ref.Body.Len())
		}
		for _, k := range []string{"Content-Type", "Cache-Control", "Last-Modified", "Expires", "Etag"} {
			if f, c := fast.Header().Values(k), ref.Header().Values(k); fmt.Sprint(f) != fmt.Sprint(c) {
				t.Errorf("%s: %s: fast path %q, cfssl %q", tc.name, k, f, c)
			}
		}
	}
}

// TestResponderAnswersJustIssued: a certificate committed after the last
// Sync (a relying party asking about the certificate it was just given)
// is answered "good", not "unknown", without waiting for Run's Poll; a
// serial never issued is still "unknown".
func TestResponderAnswersJustIssued(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	r := p.responder(t, time.Hour) // Run not started: no Sync but the first
	h := r.Handler()
	c := p.issue(301)
	if resp := ask(t, h, c, p.cert, false); resp.Status != xocsp.Good {
		t.Fatalf("certificate issued after the last Sync: status %d, want good", resp.Status)
	}
	never := &x509.Certificate{SerialNumber: big.NewInt(999998), RawIssuer: p.cert.RawSubject}
	der, _ := xocsp.CreateRequest(never, p.cert, nil)
	resp, err := xocsp.ParseResponse(do(h, der, false).Body.Bytes(), p.cert)
	if err != nil || resp.Status != xocsp.Unknown {
		t.Fatalf("never issued: %v, %+v", err, resp)
	}
	// Later misses arriving after a Sync started run no Sync of their own.
	d := p.issue(302)
	if resp := ask(t, h, d, p.cert, true); resp.Status != xocsp.Good {
		t.Fatalf("second certificate: status %d, want good", resp.Status)
	}
}
