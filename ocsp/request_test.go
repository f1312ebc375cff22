package ocsp

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	xocsp "golang.org/x/crypto/ocsp"
)

// requestEntry returns the one Request of the requestList of a DER
// OCSPRequest that x/crypto/ocsp made.
func requestEntry(t *testing.T, der []byte) []byte {
	t.Helper()
	in := cryptobyte.String(der)
	var req, tbs, list, one cryptobyte.String
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !req.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1(&list, cbasn1.SEQUENCE) || !list.ReadASN1Element(&one, cbasn1.SEQUENCE) {
		t.Fatalf("not an OCSP request made by x/crypto/ocsp: %x", der)
	}
	return one
}

// ocspRequest builds OCSPRequest { TBSRequest { requestList } } holding
// entries, by hand.
func ocspRequest(t *testing.T, entries ...[]byte) []byte {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, e := range entries {
					b.AddBytes(e)
				}
			})
		})
	})
	der, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestMultiRequestIsMalformed: an OCSPRequest whose requestList holds
// more than one Request (or none) is answered malformedRequest (HTTP 400),
// by the RA's responder and by Published, POST and GET: the RFC 5019
// profile is one Request per OCSPRequest, and x/crypto/ocsp reads only the
// first, so answering would leave the others silently unanswered. The
// same Request alone, hand-built the same way, is still answered.
func TestMultiRequestIsMalformed(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a, b := p.issue(1101), p.issue(1102)
	p.revoke(b, 1, p.now.Add(-time.Minute))
	r, pub := p.publishing(t)
	derA, _ := xocsp.CreateRequest(a, p.cert, nil)
	derB, _ := xocsp.CreateRequest(b, p.cert, nil)
	ea, eb := requestEntry(t, derA), requestEntry(t, derB)
	cases := []struct {
		name    string
		der     []byte
		want    xocsp.ResponseStatus
		wantErr bool
	}{
		{"one request", ocspRequest(t, ea), xocsp.Success, false},
		{"good then revoked", ocspRequest(t, ea, eb), xocsp.Malformed, true},
		{"revoked then good", ocspRequest(t, eb, ea), xocsp.Malformed, true},
		{"the same twice", ocspRequest(t, ea, ea), xocsp.Malformed, true},
		{"none", ocspRequest(t), xocsp.Malformed, true},
	}
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"responder", r.Handler()}, {"published", pub.Handler()}} {
		for _, c := range cases {
			for _, get := range []bool{false, true} {
				rec := do(h.h, c.der, get)
				resp, err := xocsp.ParseResponse(rec.Body.Bytes(), nil)
				if c.wantErr {
					if !isStatus(err, c.want) || rec.Code != http.StatusBadRequest {
						status := "none"
						if resp != nil {
							status = map[int]string{xocsp.Good: "good", xocsp.Revoked: "revoked", xocsp.Unknown: "unknown"}[resp.Status]
						}
						t.Errorf("%s, %s, get=%v: HTTP %d, %v (status %s), want malformedRequest, HTTP 400", h.name, c.name, get, rec.Code, err, status)
					}
					continue
				}
				if err != nil || rec.Code != http.StatusOK || resp.Status != xocsp.Good {
					t.Errorf("%s, %s, get=%v: HTTP %d, %v, want good", h.name, c.name, get, rec.Code, err)
				}
			}
		}
	}
}

// TestPostContentTypeIgnored: decided, a POST's Content-Type is not
// checked (RFC 6960 A.1 names application/ocsp-request, but clients that
// send none or another are common, and the body is parsed strictly
// whatever its label): every one gets the same answer, byte for byte,
// from the responder and from Published.
func TestPostContentTypeIgnored(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a := p.issue(1201)
	r, pub := p.publishing(t)
	der, _ := xocsp.CreateRequest(a, p.cert, nil)
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"responder", r.Handler()}, {"published", pub.Handler()}} {
		want := do(h.h, der, false)
		for _, ct := range []string{"", "application/octet-stream", "text/plain", "application/x-www-form-urlencoded", "application/ocsp-response"} {
			req := httptest.NewRequest(http.MethodPost, "/ocsp", bytes.NewReader(der))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			rec := httptest.NewRecorder()
			h.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), want.Body.Bytes()) {
				t.Errorf("%s, Content-Type %q: HTTP %d, %d bytes, want HTTP 200 and the application/ocsp-request answer", h.name, ct, rec.Code, rec.Body.Len())
			}
		}
	}
}

// TestNotAnOCSPRequestIsMalformed: whatever arrives that is not an OCSP
// request gets the one answer docs/repository.md promises, an OCSP
// response of status malformedRequest with HTTP 400, from the responder
// and from the published answers alike: a GET whose path is not base64,
// base64 that is not DER, DER that is not an OCSPRequest, an empty POST.
func TestNotAnOCSPRequestIsMalformed(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	r, pub := p.publishing(t)
	cases := []struct {
		name   string
		method string
		path   string
		body   string
	}{
		{"GET, not base64", http.MethodGet, "/ocsp/!!not-base64!!", ""},
		{"GET, base64 of text", http.MethodGet, "/ocsp/aGVsbG8gd29ybGQ=", ""},
		{"GET, base64 of a bare SEQUENCE", http.MethodGet, "/ocsp/MAA=", ""},
		{"POST, text", http.MethodPost, "/ocsp", "hello world"},
		{"POST, empty", http.MethodPost, "/ocsp", ""},
	}
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"responder", r.Handler()}, {"published", pub.Handler()}} {
		for _, c := range cases {
			rec := httptest.NewRecorder()
			h.h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))
			_, err := xocsp.ParseResponse(rec.Body.Bytes(), nil)
			if !isStatus(err, xocsp.Malformed) || rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") != "application/ocsp-response" {
				t.Errorf("%s, %s: HTTP %d %q, body %q: %v; want 400 application/ocsp-response malformedRequest",
					h.name, c.name, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes(), err)
			}
		}
	}
}

// TestWhatRealClientsSend: the requests real relying parties send besides
// a plain POST /ocsp and GET /ocsp/{base64}, from the responder and from
// Published alike: openssl ocsp -url https://host/ocsp/ POSTs to the path
// with its trailing slash (answered as /ocsp); HEAD of a GET URL (caches
// and monitors probing it) gets the GET's status and headers; a GET with
// no request (a monitor probing the URL) is a malformed OCSP request, not
// HTTP 405 with an Allow that names GET; a request over the size cap is
// refused with an OCSP malformedRequest body (HTTP 413, or 414 for a
// GET), not a text page an OCSP client cannot parse; any other method is
// 405 with an Allow naming the three that are served.
func TestWhatRealClientsSend(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a := p.issue(1301)
	r, pub := p.publishing(t)
	der, _ := xocsp.CreateRequest(a, p.cert, nil)
	unissued, _ := xocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(0x7777)}, p.cert, nil)
	get := "/ocsp/" + base64.StdEncoding.EncodeToString(der)
	long := "/ocsp/" + strings.Repeat("A", 2*maxRequestBody+4)
	malformedBody := string(xocsp.MalformedRequestErrorResponse)
	cases := []struct {
		name, method, path, body string
		code                     int
		ctype                    string
		wantBody                 *string // nil: a successful OCSP response
	}{
		{"POST with a trailing slash", http.MethodPost, "/ocsp/", string(der), 200, "application/ocsp-response", nil},
		{"HEAD of a GET", http.MethodHead, get, "", 200, "application/ocsp-response", nil},
		{"HEAD of a GET, serial never issued", http.MethodHead, "/ocsp/" + base64.StdEncoding.EncodeToString(unissued), "", 0, "application/ocsp-response", nil},
		{"GET with no request", http.MethodGet, "/ocsp", "", 400, "application/ocsp-response", &malformedBody},
		{"GET with an empty request", http.MethodGet, "/ocsp/", "", 400, "application/ocsp-response", &malformedBody},
		{"POST over the cap", http.MethodPost, "/ocsp", strings.Repeat("x", maxRequestBody+1), 413, "application/ocsp-response", &malformedBody},
		{"GET over the cap", http.MethodGet, long, "", 414, "application/ocsp-response", &malformedBody},
		{"PUT", http.MethodPut, "/ocsp", string(der), 405, "text/plain; charset=utf-8", nil},
	}
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"responder", r.Handler()}, {"published", pub.Handler()}} {
		for _, c := range cases {
			rec := httptest.NewRecorder()
			h.h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))
			code := c.code
			if code == 0 { // unknown from the RA, unauthorized from Published: both 200
				code = 200
			}
			if rec.Code != code || rec.Header().Get("Content-Type") != c.ctype {
				t.Errorf("%s, %s: HTTP %d %q (%q); want %d %q", h.name, c.name, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes(), code, c.ctype)
				continue
			}
			switch {
			case c.method == http.MethodPut:
				if got := rec.Header().Get("Allow"); got != "GET, HEAD, POST" {
					t.Errorf("%s, %s: Allow %q, want \"GET, HEAD, POST\"", h.name, c.name, got)
				}
			case c.wantBody != nil:
				if rec.Body.String() != *c.wantBody {
					t.Errorf("%s, %s: body %x, want malformedRequest %x", h.name, c.name, rec.Body.Bytes(), *c.wantBody)
				}
			case c.code == 200:
				if _, err := xocsp.ParseResponse(rec.Body.Bytes(), p.cert); err != nil {
					t.Errorf("%s, %s: %v", h.name, c.name, err)
				}
			}
			if c.method == http.MethodHead && c.code == 200 {
				g := httptest.NewRecorder()
				h.h.ServeHTTP(g, httptest.NewRequest(http.MethodGet, c.path, nil))
				for _, k := range []string{"Etag", "Last-Modified", "Expires"} {
					if rec.Header().Get(k) != g.Header().Get(k) || g.Header().Get(k) == "" {
						t.Errorf("%s, %s: %s %q, the GET's %q", h.name, c.name, k, rec.Header().Get(k), g.Header().Get(k))
					}
				}
			}
		}
	}
}

// TestIfNoneMatchAsRFC9110: If-None-Match is compared as RFC 9110 13.1.2
// says (weak comparison, a list of tags, "*"), as the repository compares
// it: a cache revalidating with W/"tag" or several tags gets 304, from the
// responder (a pre-signed answer and a signed unknown) and from Published.
func TestIfNoneMatchAsRFC9110(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a := p.issue(1401)
	r, pub := p.publishing(t)
	der, _ := xocsp.CreateRequest(a, p.cert, nil)
	unissued, _ := xocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(0x7778)}, p.cert, nil)
	for _, h := range []struct {
		name string
		h    http.Handler
		der  []byte
	}{{"responder", r.Handler(), der}, {"responder, unknown", r.Handler(), unissued}, {"published", pub.Handler(), der}} {
		path := "/ocsp/" + base64.StdEncoding.EncodeToString(h.der)
		first := httptest.NewRecorder()
		h.h.ServeHTTP(first, httptest.NewRequest(http.MethodGet, path, nil))
		etag := first.Header().Get("Etag")
		if first.Code != 200 || etag == "" {
			t.Fatalf("%s: HTTP %d, ETag %q", h.name, first.Code, etag)
		}
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, `"other",` + etag + `, "more"`, "*"} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("If-None-Match", inm)
			h.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
				t.Errorf("%s, If-None-Match %s: HTTP %d, %d bytes; want 304", h.name, inm, rec.Code, rec.Body.Len())
			}
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("If-None-Match", `"other"`)
		h.h.ServeHTTP(rec, req)
		if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), first.Body.Bytes()) {
			t.Errorf("%s, If-None-Match of another tag: HTTP %d; want 200 and the answer", h.name, rec.Code)
		}
	}
}
