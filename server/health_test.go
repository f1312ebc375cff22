package server

import (
	"crypto/x509"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOlderCRLURLsCache: the CRLs at their older URLs (/crl/orl.crl,
// /crl/arl.crl, /crl/access.crl) carry the repository's CRL caching
// headers (repo.ServeCRL, their one owner): an ETag, Last-Modified at
// thisUpdate, Cache-Control max-age not past the CRL's nextUpdate, 304 on
// If-None-Match; the ORL and ARL the same headers as at /repo/crl/.
func TestOlderCRLURLsCache(t *testing.T) {
	t.Parallel()
	s, data, _, _ := serveDev(t)
	client := accessRootClient(t, data)
	get := func(path, inm string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "https://"+s.Addr()+path, nil)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	for _, c := range []struct{ old, repo string }{
		{"/crl/orl.crl", "/repo/crl/orl.crl"},
		{"/crl/arl.crl", "/repo/crl/arl.crl"},
		{"/crl/access.crl", ""},
	} {
		resp, der := get(c.old, "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: HTTP %d", c.old, resp.StatusCode)
			continue
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Errorf("%s: %v", c.old, err)
			continue
		}
		h := resp.Header
		etag, cc := h.Get("ETag"), h.Get("Cache-Control")
		_, age := cacheForm(t, cc)
		if etag == "" || age < 0 || time.Now().Add(time.Duration(age)*time.Second).After(crl.NextUpdate) ||
			h.Get("Last-Modified") != crl.ThisUpdate.UTC().Format(http.TimeFormat) {
			t.Errorf("%s: ETag %q, Cache-Control %q, Last-Modified %q; want an ETag, max-age not past nextUpdate %s, Last-Modified thisUpdate %s",
				c.old, etag, cc, h.Get("Last-Modified"), crl.NextUpdate, crl.ThisUpdate)
		}
		if etag != "" {
			if r304, _ := get(c.old, etag); r304.StatusCode != http.StatusNotModified {
				t.Errorf("%s with If-None-Match %s: HTTP %d, want 304", c.old, etag, r304.StatusCode)
			}
		}
		if c.repo == "" {
			continue
		}
		rr, rder := get(c.repo, "")
		if string(rder) != string(der) {
			t.Errorf("%s and %s differ", c.old, c.repo)
		}
		for _, k := range []string{"ETag", "Last-Modified", "Cache-Control", "Content-Type"} {
			got, want := h.Get(k), rr.Header.Get(k)
			if k == "Cache-Control" { // max-age counts down between the two requests
				g, gAge := cacheForm(t, got)
				w, wAge := cacheForm(t, want)
				if gAge < 0 || wAge < 0 || gAge-wAge > 5 || wAge-gAge > 5 {
					w += " (max-age differs)"
				}
				got, want = g, w
			}
			if got != want {
				t.Errorf("%s: %s %q, %s gives %q", c.old, k, h.Get(k), c.repo, rr.Header.Get(k))
			}
		}
	}
}

// cacheForm splits a Cache-Control value into its directives other than
// max-age, and max-age.
func cacheForm(t *testing.T, cc string) (string, int) {
	t.Helper()
	var out []string
	age := -1
	for _, d := range strings.Split(cc, ",") {
		d = strings.TrimSpace(d)
		if v, ok := strings.CutPrefix(d, "max-age="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("Cache-Control %q: %v", cc, err)
			}
			age = n
			continue
		}
		out = append(out, d)
	}
	return strings.Join(out, ", "), age
}
