package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/store"
)

// TestWithdrawUserPage: an RA operator withdraws a User ID from its page
// (docs/console.md): the form is shown to RA operators only and needs its
// confirm box; the withdrawal revokes the user's certificate and the page
// says so; sent again it is 409 E_RA_INACTIVE on the user's page. A party
// officer posting the form is refused by the RA (E_RA_FORBIDDEN).
func TestWithdrawUserPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	is := e.enrol()
	page := "/console/users/" + e.userA.String()
	act := page + "/withdraw"

	ckS, csrfS := e.signIn("sro-a")
	if w := e.do("GET", page, nil, ckS, nil, nil); w.Code != http.StatusOK || strings.Contains(w.Body.String(), `id="withdraw"`) {
		t.Fatalf("SRO's user page: %d, withdraw form shown: %v", w.Code, strings.Contains(w.Body.String(), `id="withdraw"`))
	}
	if w := e.do("POST", act, url.Values{"csrf": {csrfS}, "reason": {"privilegeWithdrawn"}, "confirm": {"yes"}}, ckS, nil, nil); w.Code != http.StatusForbidden ||
		!strings.Contains(w.Body.String(), "E_RA_FORBIDDEN") {
		t.Fatalf("SRO withdraws: %d, want 403 E_RA_FORBIDDEN", w.Code)
	}

	ck, csrf := e.signIn("admin")
	if w := e.do("GET", page, nil, ck, nil, nil); !strings.Contains(w.Body.String(), `id="withdraw"`) {
		t.Fatal("the RA operator's user page has no withdraw form")
	}
	if w := e.do("POST", act, url.Values{"csrf": {csrf}, "reason": {"privilegeWithdrawn"}}, ck, nil, nil); w.Code != http.StatusBadRequest ||
		!strings.Contains(w.Body.String(), "tick the box") {
		t.Fatalf("unconfirmed: %d, want 400 asking to confirm", w.Code)
	}
	w := e.do("POST", act, url.Values{"csrf": {csrf}, "reason": {"privilegeWithdrawn"}, "confirm": {"yes"}}, ck, nil, nil)
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, "withdrawn; 1 certificate(s) revoked (privilegeWithdrawn)") || strings.Contains(body, `id="withdraw"`) {
		t.Fatalf("withdraw: %d %s", w.Code, between(body, `<main`, `</main>`))
	}
	ci, err := e.svc.GetCertificate(t.Context(), e.admin, is.Cert.Serial)
	if err != nil || ci.Status != string(store.StatusRevoked) {
		t.Fatalf("certificate after withdrawal: %+v %v", ci, err)
	}
	if a := e.lastAudit(ra.AuditQuery{Action: string(ra.ActWithdrawUser)}); a.Result != "allowed" || !strings.Contains(a.Detail, "channel=console") {
		t.Fatalf("audit: %+v", a)
	}
	w = e.do("POST", act, url.Values{"csrf": {csrf}, "reason": {"privilegeWithdrawn"}, "confirm": {"yes"}}, ck, nil, nil)
	if box := between(w.Body.String(), `<div class="error" role="alert">`, "</div>"); w.Code != http.StatusConflict || !strings.Contains(box, "E_RA_INACTIVE") {
		t.Fatalf("sent again: %d %q, want 409 E_RA_INACTIVE", w.Code, box)
	}
}
