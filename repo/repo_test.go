package repo

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	userA  = "90-B3-D5-1F-30-01-00-0A"
	userB  = "90-B3-D5-1F-30-01-00-0B"
	partyP = "90-B3-D5-1F-30-00-00-01"
)

type answer struct {
	code int
	hdr  http.Header
	body []byte
}

func get(h http.Handler, path string, hdr ...string) answer {
	return do(h, http.MethodGet, path, "192.0.2.1:1234", hdr...)
}

func do(h http.Handler, method, path, remote string, hdr ...string) answer {
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Header(), rec.Body.Bytes()}
}

func errCode(t *testing.T, a answer) string {
	t.Helper()
	var b ErrorBody
	if err := json.Unmarshal(a.body, &b); err != nil {
		t.Fatalf("error body %q: %v", a.body, err)
	}
	if b.Error.Message == "" {
		t.Errorf("error %s without a message", b.Error.Code)
	}
	return b.Error.Code
}

// TestCertificateBySerial: the enrolled bytes as PEM or DER by suffix or
// Accept, validators from the data, and 304 on either conditional form.
func TestCertificateBySerial(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	c := p.issue(0x1a2b, userA, partyP, "IS")
	h := p.handler(t, -1, 0)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER})
	for _, tc := range []struct {
		path, accept string
		want         []byte
		ctype        string
	}{
		{"/repo/certs/1a2b", "", pemBytes, "application/x-pem-file"},
		{"/repo/certs/1a2b", "application/pkix-cert", c.DER, "application/pkix-cert"},
		{"/repo/certs/1a2b", "application/x-pem-file, application/pkix-cert", pemBytes, "application/x-pem-file"},
		{"/repo/certs/1a2b.pem", "application/pkix-cert", pemBytes, "application/x-pem-file"},
		{"/repo/certs/1a2b.der", "", c.DER, "application/pkix-cert"},
	} {
		a := get(h, tc.path, "Accept", tc.accept)
		if a.code != 200 || !bytes.Equal(a.body, tc.want) || a.hdr.Get("Content-Type") != tc.ctype {
			t.Errorf("%s (Accept %q): %d %s, want the enrolled bytes as %s", tc.path, tc.accept, a.code, a.hdr.Get("Content-Type"), tc.ctype)
			continue
		}
		if a.hdr.Get("ETag") != ETag(tc.want) || a.hdr.Get("Last-Modified") != c.IssuedAt.Format(http.TimeFormat) ||
			!strings.Contains(a.hdr.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: validators %v", tc.path, a.hdr)
		}
		if a := get(h, tc.path, "Accept", tc.accept, "If-None-Match", ETag(tc.want)); a.code != 304 || len(a.body) != 0 {
			t.Errorf("%s with If-None-Match: %d, want 304", tc.path, a.code)
		}
		if a := get(h, tc.path, "Accept", tc.accept, "If-None-Match", `"other"`); a.code != 200 {
			t.Errorf("%s with a stale If-None-Match: %d, want 200", tc.path, a.code)
		}
		if a := get(h, tc.path, "Accept", tc.accept, "If-Modified-Since", c.IssuedAt.Format(http.TimeFormat)); a.code != 304 {
			t.Errorf("%s with If-Modified-Since: %d, want 304", tc.path, a.code)
		}
		if a := get(h, tc.path, "Accept", tc.accept, "If-Modified-Since", c.IssuedAt.Add(-time.Second).Format(http.TimeFormat)); a.code != 200 {
			t.Errorf("%s modified since: %d, want 200", tc.path, a.code)
		}
	}
	if a := get(h, "/repo/certs/1a2b"); a.hdr.Get("Vary") != "Accept" {
		t.Errorf("negotiated answer without Vary: Accept")
	}
	if a := do(h, http.MethodHead, "/repo/certs/1a2b.der", "192.0.2.1:1"); a.code != 200 || len(a.body) != 0 || a.hdr.Get("Content-Length") != strconv.Itoa(len(c.DER)) {
		t.Errorf("HEAD: %d, %d bytes, length %s", a.code, len(a.body), a.hdr.Get("Content-Length"))
	}
}

// TestStatusJSON: a certificate's description follows its revocation, and
// once revoked it is final (long max-age).
func TestStatusJSON(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	c := p.issue(0x77, userA, partyP, "IS")
	h := p.handler(t, -1, 0)
	var d Cert
	a := get(h, "/repo/certs/77.json")
	if err := json.Unmarshal(a.body, &d); err != nil || a.code != 200 {
		t.Fatalf("%d %s: %v", a.code, a.body, err)
	}
	if d.Status != "good" || d.UserID != userA || d.PartyID != partyP || d.Role != "IS" || d.RevokedAt != nil ||
		d.Links.DER != "/repo/certs/77.der" || a.hdr.Get("Cache-Control") != "public, no-cache" {
		t.Errorf("good: %+v %v", d, a.hdr)
	}
	etag := a.hdr.Get("ETag")
	p.advance(time.Minute)
	p.revoke(c.Serial, 1)
	a = get(h, "/repo/certs/77.json", "If-None-Match", etag)
	if a.code != 200 {
		t.Fatalf("after revocation the old ETag still matched: %d", a.code)
	}
	if err := json.Unmarshal(a.body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Status != "revoked" || d.Reason != "keyCompromise" || d.RevokedAt == nil || !d.RevokedAt.Equal(p.clock()) ||
		a.hdr.Get("Last-Modified") != p.clock().Format(http.TimeFormat) || !strings.Contains(a.hdr.Get("Cache-Control"), "max-age=31536000") {
		t.Errorf("revoked: %+v %v", d, a.hdr)
	}
}

// TestSearch: every filter, paging through next links, and bad input.
func TestSearch(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	p.issue(0x10, userA, partyP, "IS")
	p.issue(0x11, userA, partyP, "IS")
	p.issue(0x12, userB, partyP, "GS")
	p.issue(0x13, userB, partyP, "GS")
	p.revoke("11", 4)
	h := p.handler(t, -1, 0)
	serials := func(path string) []string {
		t.Helper()
		var out []string
		for path != "" {
			a := get(h, path)
			var page SearchPage
			if err := json.Unmarshal(a.body, &page); err != nil || a.code != 200 {
				t.Fatalf("%s: %d %s", path, a.code, a.body)
			}
			for _, c := range page.Certificates {
				out = append(out, c.Serial)
			}
			path = page.Next
		}
		return out
	}
	for _, tc := range []struct{ path, want string }{
		{"/repo/certs", "10 11 12 13"},
		{"/repo/certs?limit=1", "10 11 12 13"},
		{"/repo/certs?user=90b3d51f3001000a", "10 11"},
		{"/repo/certs?party=" + partyP + "&status=good&limit=2", "10 12 13"},
		{"/repo/certs?role=gs", "12 13"},
		{"/repo/certs?status=revoked", "11"},
		{"/repo/certs?user=" + userA + "&role=GS", ""},
		{"/repo/certs?after=11", "12 13"},
	} {
		if got := strings.Join(serials(tc.path), " "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.path, got, tc.want)
		}
	}
	for _, path := range []string{
		"/repo/certs?user=nope", "/repo/certs?party=1", "/repo/certs?role=XX", "/repo/certs?status=bad",
		"/repo/certs?limit=0", "/repo/certs?limit=1001", "/repo/certs?after=0x1", "/repo/certs?colour=red",
		"/repo/certs?user=" + userA + "&user=" + userB, "/repo/certs/1A2B", "/repo/certs/01", "/repo/certs/" + strings.Repeat("a", 41),
		"/repo/changes?issued_after=-1", "/repo/changes?limit=5000", "/repo/changes?since=1",
		"/repo/certs?q=" + strings.Repeat("x", 2000),
	} {
		if a := get(h, path); a.code != 400 || errCode(t, a) != "E_REPO_BAD_REQUEST" {
			t.Errorf("%s: %d %s, want 400 E_REPO_BAD_REQUEST", path, a.code, a.body)
		}
	}
	for _, path := range []string{"/repo/certs/99", "/repo/certs/10.txt", "/repo/nothing", "/repo/", "/repo/crl/orl.crl"} {
		if a := get(h, path); a.code != 404 || errCode(t, a) != "E_REPO_NOT_FOUND" {
			t.Errorf("%s: %d %s, want 404 E_REPO_NOT_FOUND", path, a.code, a.body)
		}
	}
	if a := do(h, http.MethodPost, "/repo/certs", "192.0.2.1:1"); a.code != 405 || errCode(t, a) != "E_REPO_METHOD" {
		t.Errorf("POST: %d", a.code)
	}
}

// TestCRLCacheControl: the CRLs at their stable URLs, max-age ending at
// nextUpdate, Last-Modified at thisUpdate; a new CRL changes the ETag.
func TestCRLCacheControl(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	orl := p.publishCRL("orl", 1, 24*time.Hour)
	arl := p.publishCRL("arl", 1, 7*24*time.Hour)
	p.advance(10 * time.Hour)
	h := p.handler(t, -1, 0)
	for _, tc := range []struct {
		path   string
		crl    []byte
		maxAge int
	}{{"/repo/crl/orl.crl", orl.DER, 14 * 3600}, {"/repo/crl/arl.crl", arl.DER, 158 * 3600}} {
		a := get(h, tc.path)
		if a.code != 200 || !bytes.Equal(a.body, tc.crl) || a.hdr.Get("Content-Type") != "application/pkix-crl" {
			t.Fatalf("%s: %d", tc.path, a.code)
		}
		if cc := a.hdr.Get("Cache-Control"); cc != "public, max-age="+strconv.Itoa(tc.maxAge) {
			t.Errorf("%s: Cache-Control %q, want max-age %d (to nextUpdate)", tc.path, cc, tc.maxAge)
		}
		if a.hdr.Get("Last-Modified") != p.clock().Add(-10*time.Hour).Format(http.TimeFormat) {
			t.Errorf("%s: Last-Modified %s", tc.path, a.hdr.Get("Last-Modified"))
		}
	}
	etag := get(h, "/repo/crl/orl.crl").hdr.Get("ETag")
	p.advance(20 * time.Hour) // past nextUpdate: nothing may be cached
	if cc := get(h, "/repo/crl/orl.crl").hdr.Get("Cache-Control"); cc != "public, max-age=0" {
		t.Errorf("past nextUpdate: %q", cc)
	}
	p.publishCRL("orl", 2, 24*time.Hour)
	if a := get(h, "/repo/crl/orl.crl", "If-None-Match", etag); a.code != 200 {
		t.Errorf("a new ORL answered the old ETag with %d", a.code)
	}
}

// TestCACertificates: the Root and Issuing OCA as PEM and DER.
func TestCACertificates(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	h := p.handler(t, -1, 0)
	for path, want := range map[string][]byte{
		"/repo/ca/root.der": p.root.Raw, "/repo/ca/issuing.der": p.issuing.Raw,
		"/repo/ca/root.pem":    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.Raw}),
		"/repo/ca/issuing.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.issuing.Raw}),
	} {
		if a := get(h, path); a.code != 200 || !bytes.Equal(a.body, want) || a.hdr.Get("Cache-Control") != "public, max-age=86400" {
			t.Errorf("%s: %d %v", path, a.code, a.hdr)
		}
	}
}

// TestChangesAndIndex: the sequences mirrors follow.
func TestChangesAndIndex(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	h := p.handler(t, -1, 0)
	p.issue(0x20, userA, partyP, "IS")
	p.issue(0x21, userA, partyP, "IS")
	p.issue(0x22, userA, partyP, "IS")
	p.revoke("21", 1)
	var ix Index
	if err := json.Unmarshal(get(h, "/repo/index.json").body, &ix); err != nil || ix.IssuanceSeq != 3 || ix.RevocationSeq != 1 || ix.Links["orl"] != "/repo/crl/orl.crl" {
		t.Fatalf("index: %+v %v", ix, err)
	}
	var ch Changes
	if err := json.Unmarshal(get(h, "/repo/changes?issued_after=1&limit=1").body, &ch); err != nil {
		t.Fatal(err)
	}
	if ch.IssuanceSeq != 3 || ch.RevocationSeq != 1 || len(ch.Issued) != 1 || ch.Issued[0].Seq != 2 || ch.Issued[0].Serial != "21" ||
		len(ch.Revoked) != 1 || ch.Revoked[0].Seq != 1 || ch.Revoked[0].Serial != "21" || ch.Issued[0].Certificate != nil || ch.Issued[0].DER != nil {
		t.Errorf("changes: %+v", ch)
	}
	// include=certificates: each entry carries the certificate as its own
	// URLs serve it.
	ch = Changes{}
	if err := json.Unmarshal(get(h, "/repo/changes?issued_after=1&limit=1&include=certificates").body, &ch); err != nil {
		t.Fatal(err)
	}
	if len(ch.Issued) != 1 || len(ch.Revoked) != 1 || ch.Issued[0].Certificate == nil || ch.Revoked[0].Certificate == nil {
		t.Fatalf("changes with certificates: %+v", ch)
	}
	if !bytes.Equal(ch.Issued[0].DER, get(h, "/repo/certs/21.der").body) || ch.Revoked[0].DER != nil {
		t.Error("an issued entry's der is not the certificate's DER, or a revoked entry carries one")
	}
	if got := jsonBody(ch.Issued[0].Certificate); !bytes.Equal(got, get(h, "/repo/certs/21.json").body) {
		t.Errorf("an issued entry's description is not the certificate's .json:\n%s", got)
	}
	if got := get(h, "/repo/changes?include=all"); got.code != http.StatusBadRequest {
		t.Errorf("include=all: %d, want 400", got.code)
	}
}

// TestRateLimit: each client address has its own burst, refilled at the
// rate; the refused answer says when to come back.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	h := p.handler(t, 2, 3)
	for i := range 3 {
		if a := do(h, http.MethodGet, "/repo/ca/root.pem", "198.51.100.7:1000", ""); a.code != 200 {
			t.Fatalf("request %d within the burst: %d", i, a.code)
		}
	}
	a := do(h, http.MethodGet, "/repo/ca/root.pem", "198.51.100.7:2000")
	if a.code != 429 || errCode(t, a) != "E_REPO_RATE_LIMITED" || a.hdr.Get("Retry-After") != "1" {
		t.Fatalf("past the burst: %d %v", a.code, a.hdr)
	}
	if a := do(h, http.MethodGet, "/repo/ca/root.pem", "198.51.100.8:1000"); a.code != 200 {
		t.Errorf("another address: %d", a.code)
	}
	p.advance(500 * time.Millisecond) // one token at 2/s
	if a := do(h, http.MethodGet, "/repo/ca/root.pem", "198.51.100.7:1000"); a.code != 200 {
		t.Errorf("after refill: %d", a.code)
	}
	if a := do(h, http.MethodGet, "/repo/ca/root.pem", "198.51.100.7:1000"); a.code != 429 {
		t.Errorf("refill gave more than one token: %d", a.code)
	}
}

// TestListingsRevalidateByETagOnly: a search page's Last-Modified is the
// newest issuance or revocation among the certificates it lists, so a
// revocation that takes a certificate off a status=good page changes the
// page while its Last-Modified goes back. The listings (search, changes,
// index) therefore answer If-Modified-Since with the page, never 304;
// If-None-Match with the current ETag is still 304.
func TestListingsRevalidateByETagOnly(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	p.issue(0x10, userA, partyP, "IS")
	p.advance(time.Minute)
	p.issue(0x11, userA, partyP, "IS")
	h := p.handler(t, -1, 0)
	path := "/repo/certs?user=" + userA + "&status=good"
	first := get(h, path)
	if first.code != 200 {
		t.Fatalf("%d %s", first.code, first.body)
	}
	lm := first.hdr.Get("Last-Modified")
	p.advance(time.Minute)
	p.revoke("11", 1)
	if again := get(h, path, "If-Modified-Since", lm); again.code != 200 {
		t.Errorf("search with If-Modified-Since %s after serial 11 was revoked off the page: HTTP %d, want 200 (Last-Modified now %s)",
			lm, again.code, again.hdr.Get("Last-Modified"))
	}
	for _, path := range []string{path, "/repo/changes", "/repo/index.json"} {
		cur := get(h, path)
		if cur.code != 200 {
			t.Fatalf("%s: %d %s", path, cur.code, cur.body)
		}
		if c := get(h, path, "If-Modified-Since", cur.hdr.Get("Last-Modified")); c.code != 200 {
			t.Errorf("%s with If-Modified-Since: HTTP %d, want 200 (revalidated by ETag only)", path, c.code)
		}
		if c := get(h, path, "If-None-Match", cur.hdr.Get("ETag")); c.code != 304 {
			t.Errorf("%s with its ETag: HTTP %d, want 304", path, c.code)
		}
	}
}

// TestCertJSONRevalidatesByETagOnly: a certificate revoked within the
// second it was issued keeps its description's Last-Modified, so the
// description is revalidated by its ETag only: If-Modified-Since from the
// good copy gets the revoked description, not 304.
func TestCertJSONRevalidatesByETagOnly(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	p.issue(0x20, userA, partyP, "IS")
	h := p.handler(t, -1, 0)
	first := get(h, "/repo/certs/20.json")
	if first.code != 200 {
		t.Fatalf("%d %s", first.code, first.body)
	}
	p.advance(300 * time.Millisecond)
	p.revoke("20", 1)
	if again := get(h, "/repo/certs/20.json", "If-Modified-Since", first.hdr.Get("Last-Modified")); again.code != 200 {
		t.Errorf("description of a certificate revoked since: If-Modified-Since %s answered %d (Last-Modified now %s), want 200",
			first.hdr.Get("Last-Modified"), again.code, again.hdr.Get("Last-Modified"))
	}
	cur := get(h, "/repo/certs/20.json")
	if c := get(h, "/repo/certs/20.json", "If-None-Match", cur.hdr.Get("ETag")); c.code != 304 {
		t.Errorf("with its ETag: HTTP %d, want 304", c.code)
	}
}

// TestCRLRevalidatesByETagOnly: the CA reissues the ORL at every
// revocation with thisUpdate to the second, so two revocations within one
// second give two ORLs with one Last-Modified. A cache revalidating the
// first with If-Modified-Since must get the second, not 304 (which would
// keep the revocation from relying parties until the cached copy's
// nextUpdate); If-None-Match with the current ETag is still 304.
func TestCRLRevalidatesByETagOnly(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	p.advance(100 * time.Millisecond)
	p.publishCRL("orl", 1, 24*time.Hour)
	h := p.handler(t, -1, 0)
	first := get(h, "/repo/crl/orl.crl")
	if first.code != 200 {
		t.Fatalf("%d %s", first.code, first.body)
	}
	p.advance(300 * time.Millisecond) // the same second
	second := p.publishCRL("orl", 2, 24*time.Hour)
	again := get(h, "/repo/crl/orl.crl", "If-Modified-Since", first.hdr.Get("Last-Modified"))
	if again.code != 200 || !bytes.Equal(again.body, second.DER) {
		t.Errorf("ORL reissued within the second: If-Modified-Since %s answered HTTP %d (Last-Modified now %s), want 200 with the new ORL",
			first.hdr.Get("Last-Modified"), again.code, again.hdr.Get("Last-Modified"))
	}
	if c := get(h, "/repo/crl/orl.crl", "If-None-Match", again.hdr.Get("ETag")); c.code != 304 {
		t.Errorf("with its ETag: HTTP %d, want 304", c.code)
	}
}
