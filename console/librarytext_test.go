package console

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/librarytext"
)

// TestRefusalsSayItInTheirOwnWords (issue 14, "no raw library text"): a
// refusal on any page shows its E_ code, a sentence of smki's own and
// what to do next, with the HTTP status of the refusal. Before, a CSR
// that is not PKCS#10 showed encoding/asn1's "asn1: structure error:
// tags don't match (16 vs {class:1 ...})", a missing style sheet or
// script net/http's bare "404 page not found" (and /console/static/ a
// directory listing), and a bad time in the audit filter answered 200.
func TestRefusalsSayItInTheirOwnWords(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ck, csrf := e.signIn("admin")
	aro, aroCSRF := e.signIn("aro-a")
	for _, c := range []struct {
		name, method, path, cookie string
		form                       url.Values
		status                     int
		code                       string
	}{
		{"enrol, CSR not PKCS#10", "POST", "/console/enrol", aro, url.Values{"csrf": {aroCSRF}, "user_id": {e.userA.String()}, "profile": {"xml-signing"}, "csr": {"garbage"}}, 400, "E_RA_CSR_INVALID"},
		{"enrol, CSR PEM of garbage", "POST", "/console/enrol", aro, url.Values{"csrf": {aroCSRF}, "user_id": {e.userA.String()}, "profile": {"xml-signing"},
			"csr": {"-----BEGIN CERTIFICATE REQUEST-----\nMIIBbadbadbadbad\n-----END CERTIFICATE REQUEST-----"}}, 400, "E_RA_CSR_INVALID"},
		{"appoint, CSR not PKCS#10", "POST", "/console/officers", ck, url.Values{"csrf": {csrf}, "id": {"newo"}, "name": {"x"}, "kind": {"ra-operator"}, "csr": {"garbage"}}, 400, "E_RA_CSR_INVALID"},
		{"static file not there", "GET", "/console/static/nope.css", ck, nil, 404, "E_RA_NOT_FOUND"},
		{"static directory", "GET", "/console/static/", ck, nil, 404, "E_RA_NOT_FOUND"},
		{"audit filter, bad time", "GET", "/console/audit?since=xx", ck, nil, 400, "E_RA_BAD_REQUEST"},
	} {
		w := e.do(c.method, c.path, c.form, c.cookie, nil, nil)
		body := w.Body.String()
		box := between(body, `<div class="error" role="alert">`, "</div>")
		if w.Code != c.status || !strings.Contains(box, c.code) || !strings.Contains(box, `class="next"`) {
			t.Errorf("%s: %d %.200q, want %d with %s and what to do", c.name, w.Code, body, c.status, c.code)
		}
		if m := librarytext.Find(body); m != "" {
			t.Errorf("%s: the page shows library text %q: %.300s", c.name, m, box)
		}
	}
	for _, f := range []string{"console.css", "progress.js"} {
		if w := e.do("GET", "/console/static/"+f, nil, "", nil, nil); w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Errorf("static %s: %d", f, w.Code)
		}
	}
}

// TestRefusedCredentialInOwnWords: a sign-in whose credential does not
// verify against the RA's access CA (not issued by it, or expired while
// its login link was outstanding) is refused 401 E_RA_UNAUTHENTICATED
// saying why in smki's words. Before, the page showed crypto/x509's
// text ("x509: certificate signed by unknown authority", "x509:
// certificate has expired or is not yet valid: current time ...").
func TestRefusedCredentialInOwnWords(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	check := func(what string, w *httptest.ResponseRecorder, want string) {
		t.Helper()
		body := w.Body.String()
		box := html.UnescapeString(between(body, `<div class="error" role="alert">`, "</div>"))
		if w.Code != http.StatusUnauthorized || !strings.Contains(box, "E_RA_UNAUTHENTICATED") || !strings.Contains(box, want) {
			t.Errorf("%s: %d %q, want 401 E_RA_UNAUTHENTICATED saying %q", what, w.Code, box, want)
		}
		if m := librarytext.Find(body); m != "" {
			t.Errorf("%s: the page shows library text %q: %s", what, m, box)
		}
	}
	check("a certificate of another CA", e.do("POST", "/console/login-cert", url.Values{}, "", strangerCert(t), nil), "not issued by this RA's access CA")

	noOrigin := map[string]string{"Origin": "", "Sec-Fetch-Site": ""}
	cert := e.cert("sro-a")
	e.clk.Advance(cert.NotAfter.Sub(e.clk.Now()) - 30*time.Second)
	w := e.do("POST", "/console/login-link", nil, "", cert, noOrigin)
	if w.Code != http.StatusOK {
		t.Fatalf("login link 30 s before the credential expires: %d %s", w.Code, w.Body)
	}
	tok := linkToken(t, w.Body.String())
	e.clk.Advance(40 * time.Second)
	check("a link whose credential expired", e.do("POST", "/console/login/"+tok, url.Values{}, "", nil, nil), "expired")
}
