package console

import (
	"context"
	"crypto/tls"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
)

// TestSoLRDryRunShowsTheCount: the event page tells the approving officer
// how many certificates approval revokes -- the dry run's count, not the
// length of its sample of 20 (it said "Revoke 20 certificates" for a
// Supplier with thousands) -- and tells an SRP party's officer, from whom
// the failed party's certificates are withheld, that they are withheld,
// not that there are none ("Revoke 0 certificates").
func TestSoLRDryRunShowsTheCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 23 // more than the dry run's sample
	for range n {
		e.enrol()
	}
	e.appoint("admin", "sro-b", ra.KindSRO, e.partyB)
	ck, csrf := e.signIn("admin")
	w := e.do("POST", "/console/solr", url.Values{"csrf": {csrf}, "failed_party": {e.partyA.String()}, "srp_user": {e.userB.String()},
		"instruction": {"AUTH-2026-002"}, "revoke_at": {"2026-03-20T00:00"}}, ck, nil, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("declare: %d %s", w.Code, w.Body)
	}
	ev := w.Header().Get("Location")
	page := e.do("GET", ev, nil, ck, nil, nil).Body.String()
	if got := between(page, `<p id="dry-run">`, "</p>"); !strings.HasPrefix(got, "Revoke 23 certificates") {
		t.Errorf("RA officer's dry run reads %q, want it to start 'Revoke 23 certificates'", got)
	}
	if !strings.Contains(page, `id="dry-sample">The first 20 are shown.`) {
		t.Errorf("RA officer's page does not say the table is a sample of 20")
	}
	ckB, _ := e.signIn("sro-b")
	page = e.do("GET", ev, nil, ckB, nil, nil).Body.String()
	got := between(page, `<p id="dry-run">`, "</p>")
	if !strings.Contains(got, "not shown to your party") || strings.Contains(got, "Revoke 0") {
		t.Errorf("SRP officer's dry run reads %q, want the certificates said withheld", got)
	}
	if strings.Contains(page, `class="certs"`) {
		t.Errorf("SRP officer's page shows a certificate table")
	}
}

// TestUnreadableForm: a form the console cannot read is refused for what
// it is: 413 E_RA_TOO_LARGE over the limit, 400 E_RA_BAD_REQUEST when
// malformed (it was "Too large" for both), and neither changes anything.
func TestUnreadableForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ck, csrf := e.signIn("admin")
	for _, tc := range []struct {
		name, ct, body string
		status         int
		code           string
	}{
		{"bad escape", "application/x-www-form-urlencoded", "csrf=" + csrf + "&id=%zz&name=P", http.StatusBadRequest, "E_RA_BAD_REQUEST"},
		{"multipart without boundary", "multipart/form-data", "csrf=" + csrf, http.StatusBadRequest, "E_RA_BAD_REQUEST"},
		{"over the limit", "application/x-www-form-urlencoded", "csrf=" + csrf + "&name=" + strings.Repeat("x", maxForm), http.StatusRequestEntityTooLarge, "E_RA_TOO_LARGE"},
	} {
		w := e.doBody("POST", "/console/parties", tc.ct, tc.body, ck)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.code) {
			t.Errorf("%s: %d, want %d with %s\n%s", tc.name, w.Code, tc.status, tc.code, w.Body)
		}
	}
	if ps, err := e.svc.ListParties(context.Background(), e.admin); err != nil || len(ps) != 2 {
		t.Errorf("parties after unreadable forms: %d, %v; want the 2 of the set-up", len(ps), err)
	}
}

// doBody is do for a body a browser's form would not make.
func (e *env) doBody(method, target, contentType, body, cookie string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "https://"+host+target, strings.NewReader(body))
	r.TLS = &tls.ConnectionState{}
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Origin", "https://"+host)
	r.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
	w := httptest.NewRecorder()
	e.c.ServeHTTP(w, r)
	return w
}

// TestHomeSaysWhatItCouldNotRead: the home page's "Needs attention"
// sections say "None." only when the RA answered that there is none. A
// section the RA could not read now says so, with the code; one this
// officer may not read is not shown. Before, both read "None.": an
// operator was told no certificate was expiring while the store failed,
// and a verifier officer was shown empty SoLR and certificate lists.
func TestHomeSaysWhatItCouldNotRead(t *testing.T) {
	t.Parallel()
	fs := &failingStore{certificates: true}
	e := newEnvFailing(t, fs)
	e.appoint("admin", "ver-1", ra.KindVerifier, eui64.ID{})
	ck, _ := e.signIn("admin")
	home := e.do("GET", "/console/", nil, ck, nil, nil).Body.String()
	if n := strings.Count(home, "<p>None.</p>"); n != 3 || strings.Contains(home, "Could not be read") {
		t.Errorf("admin's home with nothing to attend to: %d 'None.', want 3 and no unread section", n)
	}
	ioErr := errors.New("disk I/O error")
	fs.err.Store(&ioErr)
	home = e.do("GET", "/console/", nil, ck, nil, nil).Body.String()
	fs.err.Store(nil)
	expiring := between(home, "Certificates expiring within 30 days</h3>", "</section>")
	if !strings.Contains(expiring, "Could not be read now") || !strings.Contains(expiring, "E_RA_INTERNAL") || strings.Contains(expiring, "None.") {
		t.Errorf("expiring section while the store fails: %q, want 'Could not be read now' with E_RA_INTERNAL", expiring)
	}
	if strings.Contains(home, "disk I/O error") {
		t.Errorf("the page shows the store's own text")
	}
	ckV, _ := e.signIn("ver-1")
	home = e.do("GET", "/console/", nil, ckV, nil, nil).Body.String()
	for _, h := range []string{"Waiting for a second officer", "Scheduled revocations", "Certificates expiring"} {
		if strings.Contains(home, h) {
			t.Errorf("a verifier officer's home shows %q, a section it may not read", h)
		}
	}
}

// TestCertificateSearchPages: the search page lists a page of
// certificates and links to the next, which carries the filters and
// starts after the last serial shown; every certificate is reachable.
// Before, it listed the first 500 and no more: a Supplier's certificate
// after them could not be found by browsing.
func TestCertificateSearchPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for range 5 {
		e.enrol()
	}
	e.c.certPage = 2
	ck, _ := e.signIn("admin")
	seen := map[string]bool{}
	next := "/console/certificates?party=" + e.partyA.String() + "&status=good"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("more pages than certificates")
		}
		w := e.do("GET", next, nil, ck, nil, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", next, w.Code)
		}
		body := w.Body.String()
		for _, row := range strings.Split(between(body, "<tbody>", "</tbody>"), "</tr>") {
			if s := between(row, `href="/console/certificates/`, `"`); s != "" {
				if seen[s] {
					t.Errorf("certificate %s listed twice", s)
				}
				seen[s] = true
			}
		}
		next = html.UnescapeString(between(body, `<a id="next-page" href="`, `"`))
		if next != "" && (!strings.Contains(next, "party="+e.partyA.String()) || !strings.Contains(next, "status=good") || !strings.Contains(next, "after=")) {
			t.Fatalf("next page %q lost the filters or the cursor", next)
		}
	}
	if len(seen) != 5 {
		t.Fatalf("browsing the pages found %d certificates, want 5", len(seen))
	}
}

// TestAppointFromThePartyPage: a party's page links to the officers page
// to appoint one of its officers; the form there starts with that party
// (it started empty, and an RA operator had to copy the ID across).
func TestAppointFromThePartyPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ck, _ := e.signIn("admin")
	party := e.do("GET", "/console/parties/"+e.partyB.String(), nil, ck, nil, nil).Body.String()
	i := strings.Index(party, `">Appoint an officer</a>`)
	link := ""
	if j := strings.LastIndex(party[:max(i, 0)], `href="`); i > 0 && j >= 0 {
		link = html.UnescapeString(party[j+len(`href="`) : i])
	}
	if link == "" {
		t.Fatalf("the party page has no 'Appoint an officer' link")
	}
	page := e.do("GET", link, nil, ck, nil, nil).Body.String()
	if got := between(page, `<input id="party_id" name="party_id" value="`, `"`); got != e.partyB.String() {
		t.Errorf("appoint form's party from %s: %q, want %s", link, got, e.partyB)
	}
}
