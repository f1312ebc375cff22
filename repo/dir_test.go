package repo

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDirMatchesLive: a mirror served by a DirHandler answers every URL a
// mirror holds with the live repository's status, body and headers
// (ETag, Last-Modified, Cache-Control, Content-Type, Vary), 304 to the
// same conditional requests, PEM or DER by Accept; search and changes are
// 404 (live only), and an unknown serial 404 as live.
func TestDirMatchesLive(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	for i := range 3 {
		p.issue(int64(0x200+i), userA, partyP, "IS")
	}
	p.revoke("201", 1)
	p.publishCRL("orl", 1, 24*time.Hour)
	live := p.handler(t, -1, 0)
	mux := http.NewServeMux()
	mux.Handle(Prefix, live)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	out := t.TempDir()
	if _, err := Mirror(context.Background(), MirrorOptions{BaseURL: srv.URL, Out: out}); err != nil {
		t.Fatal(err)
	}
	dir, err := NewDir(DirConfig{Dir: out, Rate: -1, Clock: p.clock})
	if err != nil {
		t.Fatal(err)
	}
	get := func(h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, path := range []string{"/repo/index.json", "/repo/ca/root.pem", "/repo/ca/root.der", "/repo/ca/issuing.pem",
		"/repo/ca/issuing.der", "/repo/crl/orl.crl", "/repo/crl/arl.crl",
		"/repo/certs/200", "/repo/certs/200.pem", "/repo/certs/200.der", "/repo/certs/200.json", "/repo/certs/201.json",
		"/repo/certs/999", "/repo/certs/0200", "/repo/certs/200.txt", "/repo/nothing"} {
		for _, accept := range []string{"", "application/pkix-cert"} {
			l, d := get(live, path, "Accept", accept), get(dir, path, "Accept", accept)
			if l.Code != d.Code || !bytes.Equal(l.Body.Bytes(), d.Body.Bytes()) {
				t.Errorf("%s (Accept %q): mirror HTTP %d %q, live HTTP %d %q", path, accept, d.Code, d.Body.Bytes(), l.Code, l.Body.Bytes())
			}
			for _, k := range []string{"ETag", "Last-Modified", "Cache-Control", "Content-Type", "Vary"} {
				if l.Header().Get(k) != d.Header().Get(k) {
					t.Errorf("%s (Accept %q): %s: mirror %q, live %q", path, accept, k, d.Header().Get(k), l.Header().Get(k))
				}
			}
			if l.Code != http.StatusOK {
				continue
			}
			for _, cond := range [][]string{{"If-None-Match", l.Header().Get("ETag")}, {"If-Modified-Since", l.Header().Get("Last-Modified")}} {
				// The index, the descriptions and the CRLs are revalidated
				// by their ETag only (serveListing, serveCertJSON, ServeCRL).
				want := http.StatusNotModified
				if (strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".crl")) && cond[0] == "If-Modified-Since" {
					want = http.StatusOK
				}
				if c := get(dir, path, "Accept", accept, cond[0], cond[1]); c.Code != want || (want == http.StatusNotModified && c.Body.Len() != 0) {
					t.Errorf("%s: %s: mirror HTTP %d, want %d", path, cond[0], c.Code, want)
				}
				if c := get(live, path, "Accept", accept, cond[0], cond[1]); c.Code != want {
					t.Errorf("%s: %s: live HTTP %d, want %d", path, cond[0], c.Code, want)
				}
			}
		}
	}
	if get(dir, "/repo/certs/200.der").Body.Len() == 0 || get(dir, "/repo/certs/200", "Accept", "application/pkix-cert").Header().Get("Content-Type") != "application/pkix-cert" {
		t.Error("the mirror does not serve DER by Accept")
	}
	for _, path := range []string{"/repo/certs?user=" + userA, "/repo/changes"} {
		if rec := get(dir, path); rec.Code != http.StatusNotFound || !bytes.Contains(rec.Body.Bytes(), []byte("E_REPO_NOT_FOUND")) {
			t.Errorf("%s on a mirror: HTTP %d %s, want 404 E_REPO_NOT_FOUND", path, rec.Code, rec.Body.Bytes())
		}
	}
	if _, err := NewDir(DirConfig{Dir: t.TempDir()}); err == nil {
		t.Error("NewDir accepted a directory holding no mirror")
	}
}
