package console

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ratest"
)

// TestLoginLink: a link is bound to the officer, works once, within 60 s;
// its cookie is HttpOnly, Secure, SameSite=Strict; the GET only shows a
// button (a prefetch cannot spend it); a browser (Origin) may not ask for
// one; no certificate, no link.
func TestLoginLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	noOrigin := map[string]string{"Origin": "", "Sec-Fetch-Site": ""}
	if w := e.do("POST", "/console/login-link", nil, "", nil, noOrigin); w.Code != http.StatusUnauthorized {
		t.Fatalf("without a certificate: %d", w.Code)
	}
	if w := e.do("POST", "/console/login-link", nil, "", e.cert("admin"), map[string]string{"Origin": "https://evil.example"}); w.Code != http.StatusForbidden {
		t.Fatalf("from a browser page: %d", w.Code)
	}
	w := e.do("POST", "/console/login-link", nil, "", e.cert("sro-a"), noOrigin)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"url":"https://`+host+`/console/login/`) {
		t.Fatalf("link: %d %s", w.Code, w.Body)
	}
	tok := linkToken(t, w.Body.String())
	for range 2 {
		if g := e.do("GET", "/console/login/"+tok, nil, "", nil, nil); g.Code != http.StatusOK || !strings.Contains(g.Body.String(), "Sign in as sro-a") {
			t.Fatalf("link page: %d", g.Code)
		}
	}
	w = e.do("POST", "/console/login/"+tok, url.Values{}, "", nil, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/" {
		t.Fatalf("use: %d %v", w.Code, w.Header())
	}
	var ck *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieName {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console/" {
		t.Fatalf("cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/console/", ck)
	}
	if w := e.do("POST", "/console/login/"+tok, url.Values{}, "", nil, nil); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "E_CONSOLE_LINK") {
		t.Fatalf("second use: %d", w.Code)
	}
	home := e.do("GET", "/console/", nil, ck.Value, nil, nil)
	if home.Code != http.StatusOK || !strings.Contains(home.Body.String(), "sro-a (sro") {
		t.Fatalf("home: %d", home.Code)
	}
	// Expiry: a link unused for 60 s is gone.
	w = e.do("POST", "/console/login-link", nil, "", e.cert("admin"), noOrigin)
	tok = linkToken(t, w.Body.String())
	e.clk.Advance(LoginLinkTTL)
	if w := e.do("POST", "/console/login/"+tok, url.Values{}, "", nil, nil); w.Code != http.StatusNotFound {
		t.Fatalf("expired link: %d", w.Code)
	}
}

// TestSessionEnds: idle and absolute timeouts, sign-out, and removal of
// the officer each end the session at once.
func TestSessionEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	signedOut := func(cookie string) bool {
		w := e.do("GET", "/console/", nil, cookie, nil, nil)
		return w.Code == http.StatusSeeOther && strings.HasPrefix(w.Header().Get("Location"), "/console/login")
	}
	ck, _ := e.signIn("admin")
	e.clk.Advance(DefaultIdleTimeout - time.Second)
	if signedOut(ck) {
		t.Fatal("ended before the idle timeout")
	}
	e.clk.Advance(DefaultIdleTimeout)
	if !signedOut(ck) {
		t.Fatal("idle session still open")
	}
	ck, _ = e.signIn("admin")
	for range int(DefaultAbsoluteTimeout / (DefaultIdleTimeout / 2)) {
		e.clk.Advance(DefaultIdleTimeout / 2)
		e.do("GET", "/console/", nil, ck, nil, nil)
	}
	if !signedOut(ck) {
		t.Fatal("session outlived the absolute timeout")
	}
	ck, csrf := e.signIn("admin")
	if w := e.do("POST", "/console/logout", url.Values{"csrf": {csrf}}, ck, nil, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", w.Code)
	}
	if !signedOut(ck) {
		t.Fatal("signed-out session still works")
	}
	aro, _ := e.signIn("aro-a")
	if signedOut(aro) {
		t.Fatal("aro-a not signed in")
	}
	if _, err := e.svc.RemoveOfficer(context.Background(), e.admin, "aro-a"); err != nil {
		t.Fatal(err)
	}
	if !signedOut(aro) {
		t.Fatal("a removed officer's session still works")
	}
}

// TestCSRF: a state change needs the session's token and a same-origin
// request; a refused POST creates nothing. An accepted one is the RA's
// decision, audited with channel=console.
func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ck, csrf := e.signIn("admin")
	id := "90-B3-D5-1F-30-00-00-C1"
	form := func(tok string) url.Values { return url.Values{"csrf": {tok}, "id": {id}, "name": {"Made by CSRF"}} }
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no token", form(""), nil},
		{"wrong token", form("x" + csrf), nil},
		{"cross-site with the token", form(csrf), map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"foreign origin, no fetch metadata", form(csrf), map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}},
	} {
		w := e.do("POST", "/console/parties", tc.form, ck, nil, tc.hdr)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "E_CONSOLE_CSRF") {
			t.Errorf("%s: %d, want 403 E_CONSOLE_CSRF", tc.name, w.Code)
		}
	}
	if _, err := e.svc.GetParty(context.Background(), e.admin, eui64.MustParse(id)); err == nil {
		t.Fatal("a refused POST created the party")
	}
	w := e.do("POST", "/console/parties", form(csrf), ck, nil, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("with the token: %d %s", w.Code, w.Body)
	}
	if a := e.lastAudit(ra.AuditQuery{Action: string(ra.ActCreateParty)}); a.Subject != "party:"+id || a.Actor != "admin" || !strings.HasSuffix(a.Detail, "channel=console") {
		t.Fatalf("audit %+v: want party.create by admin with channel=console", a)
	}
}

// TestSecurityHeaders: every page forbids framing, inline script and caching.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ck, _ := e.signIn("admin")
	for _, path := range []string{"/console/login", "/console/", "/console/parties", "/console/nowhere"} {
		h := e.do("GET", path, nil, ck, nil, nil).Header()
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
}

// TestOtherPartyIsNotThere: an ARO of party A opening party B's user or
// party gets the page of one that does not exist, and the RA audits the
// refusal.
func TestOtherPartyIsNotThere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ck, _ := e.signIn("aro-a")
	if w := e.do("GET", "/console/users/"+e.userA.String(), nil, ck, nil, nil); w.Code != http.StatusOK {
		t.Fatalf("own user: %d", w.Code)
	}
	none := eui64.MustParse("90-B3-D5-1F-30-01-0F-0F")
	for _, kind := range []struct{ path, theirs, absent string }{
		{"/console/users/", e.userB.String(), none.String()},
		{"/console/parties/", e.partyB.String(), "90-B3-D5-1F-30-00-0F-0F"},
	} {
		wt := e.do("GET", kind.path+kind.theirs, nil, ck, nil, nil)
		if a := e.lastAudit(ra.AuditQuery{Actor: "aro-a", Subject: kind.theirs}); a.Actor != "aro-a" || !strings.HasPrefix(a.Result, "refused: ") || !strings.HasSuffix(a.Detail, "channel=console") {
			t.Fatalf("%s: refusal not audited: %+v", kind.path, a)
		}
		wn := e.do("GET", kind.path+kind.absent, nil, ck, nil, nil)
		bt := strings.ReplaceAll(wt.Body.String(), kind.theirs, "ID")
		bn := strings.ReplaceAll(wn.Body.String(), kind.absent, "ID")
		if wt.Code != http.StatusNotFound || wt.Code != wn.Code || bt != bn {
			t.Fatalf("%s: theirs %d, absent %d; pages differ:\n%s\n---\n%s", kind.path, wt.Code, wn.Code, bt, bn)
		}
		if strings.Contains(wt.Body.String(), "Party B") || strings.Contains(wt.Body.String(), "SC of") {
			t.Fatalf("%s: party B's data shown", kind.path)
		}
	}
}

// TestEnrolRefusalShownAtField: an ARO asking for a profile the user's
// role may not hold sees the RA's code next to the profile field, and
// nothing is issued; the eligible profile is issued and downloadable.
func TestEnrolRefusalShownAtField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ck, csrf := e.signIn("aro-a")
	key := ratest.NewKey(t)
	csr := func(p ca.Profile) string {
		b, err := ra.NewCSR(key, e.userA, "SC", p, "")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// The role check comes before the CSR's: an SC CSR asked as DS.
	w := e.do("POST", "/console/enrol", url.Values{"csrf": {csrf}, "user_id": {e.userA.String()}, "profile": {"digital-signing"}, "csr": {csr(ca.XMLSigning)}}, ck, nil, nil)
	body := w.Body.String()
	if w.Code != http.StatusForbidden || !strings.Contains(body, "E_RA_NOT_ELIGIBLE") {
		t.Fatalf("DS for SC: %d, want 403 with E_RA_NOT_ELIGIBLE", w.Code)
	}
	if i, j := strings.Index(body, `id="profile"`), strings.Index(body, "E_RA_NOT_ELIGIBLE"); j < i || j > strings.Index(body, `id="csr_file"`) {
		t.Fatal("the code is not shown next to the profile field")
	}
	w = e.do("POST", "/console/enrol", url.Values{"csrf": {csrf}, "user_id": {e.userA.String()}, "profile": {"xml-signing"}, "csr": {csr(ca.XMLSigning)}}, ck, nil, nil)
	if w.Code != http.StatusCreated {
		t.Fatalf("XML signing for SC: %d %s", w.Code, w.Body)
	}
	serial := between(w.Body.String(), `id="issued-serial">`, "<")
	pemW := e.do("GET", "/console/certificates/"+serial+"/pem", nil, ck, nil, nil)
	if pemW.Code != http.StatusOK || !strings.HasPrefix(pemW.Body.String(), "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("download: %d", pemW.Code)
	}
}

// TestEscaping: what a user typed is shown escaped.
func TestEscaping(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ck, csrf := e.signIn("admin")
	w := e.do("POST", "/console/parties", url.Values{"csrf": {csrf}, "id": {"<script>alert(1)</script>"}, "name": {`"><b>x`}}, ck, nil, nil)
	body := w.Body.String()
	if w.Code != http.StatusBadRequest || !strings.Contains(body, "E_RA_INVALID_ID") {
		t.Fatalf("bad ID: %d", w.Code)
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, `"><b>x`) {
		t.Fatal("a submitted value reached the page unescaped")
	}
}

// TestSoLRFourEyes: the declarer's approval is refused with E_RA_FOUR_EYES
// on the page; a second officer approves.
func TestSoLRFourEyes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ck, csrf := e.signIn("admin")
	w := e.do("POST", "/console/solr", url.Values{"csrf": {csrf}, "failed_party": {e.partyA.String()}, "srp_user": {e.userB.String()},
		"instruction": {"AUTH-2026-001"}, "revoke_at": {"2026-03-20T00:00"}}, ck, nil, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("declare: %d %s", w.Code, w.Body)
	}
	ev := w.Header().Get("Location")
	w = e.do("POST", ev+"/approve", url.Values{"csrf": {csrf}}, ck, nil, nil)
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "E_RA_FOUR_EYES") {
		t.Fatalf("self-approval: %d", w.Code)
	}
	ck2, csrf2 := e.renewedApprover()
	if w := e.do("POST", ev+"/approve", url.Values{"csrf": {csrf2}}, ck2, nil, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("second officer: %d %s", w.Code, w.Body)
	}
	if !strings.Contains(e.do("GET", ev, nil, ck2, nil, nil).Body.String(), "approved") {
		t.Fatal("event not approved")
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	return s[:strings.Index(s, b)]
}

// TestSoLRApprovesTheDryRunShown: the approve button approves the dry run
// on the page. A certificate issued to the failed party after the page
// was read makes the approval E_RA_DRY_RUN_CHANGED, approving nothing,
// and the page it returns shows the new count; approving from that page
// approves.
func TestSoLRApprovesTheDryRunShown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enrol()
	ck, csrf := e.signIn("admin")
	w := e.do("POST", "/console/solr", url.Values{"csrf": {csrf}, "failed_party": {e.partyA.String()}, "srp_user": {e.userB.String()},
		"instruction": {"AUTH-2026-002"}}, ck, nil, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("declare: %d %s", w.Code, w.Body)
	}
	ev := w.Header().Get("Location")
	ck2, csrf2 := e.renewedApprover()
	shown := func() (page, digest string) {
		page = e.do("GET", ev, nil, ck2, nil, nil).Body.String()
		return page, between(page, `name="certificates_sha256" value="`, `"`)
	}
	page, digest := shown()
	if digest == "" || !strings.Contains(page, "Revoke 1 certificates") {
		t.Fatalf("the event page has no dry run digest in its approve form:\n%s", page)
	}
	e.enrol() // after the approver read the page
	w = e.do("POST", ev+"/approve", url.Values{"csrf": {csrf2}, "certificates_sha256": {digest}}, ck2, nil, nil)
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "E_RA_DRY_RUN_CHANGED") || !strings.Contains(w.Body.String(), "Revoke 2 certificates") {
		t.Fatalf("approval of a stale dry run: %d, want 409 E_RA_DRY_RUN_CHANGED with the new dry run\n%s", w.Code, w.Body)
	}
	if page, _ := shown(); !strings.Contains(page, `id="event-state">declared<`) {
		t.Fatal("a refused approval changed the event")
	}
	_, digest2 := shown()
	if w := e.do("POST", ev+"/approve", url.Values{"csrf": {csrf2}, "certificates_sha256": {digest2}}, ck2, nil, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("approval of the current dry run: %d %s", w.Code, w.Body)
	}
}

// renewedApprover renews the bootstrap approver's credential with a key it
// made (an RA-made key does not approve: issue 12 finding 1) and signs it
// in.
func (e *env) renewedApprover() (cookie, csrf string) {
	e.t.Helper()
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, ratest.NewKey(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	_, cred, err := e.svc.RenewOfficerCredential(context.Background(), e.actor("approver"), "approver",
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})))
	if err != nil {
		e.t.Fatal(err)
	}
	e.certs["approver"] = ratest.ParseCert(e.t, cred.CertPEM)
	return e.signIn("approver")
}
