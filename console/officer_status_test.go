package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestOfficerSuspendPage: an SRO suspends its ARO from the officers page;
// the ARO's session ends at once (its next page is the sign-in), and once
// reinstated the same credential signs in again. Sent again, a suspension
// is 409 E_RA_INACTIVE on the page.
func TestOfficerSuspendPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ckA, _ := e.signIn("aro-a")
	ck, csrf := e.signIn("sro-a")
	if w := e.do("GET", "/console/officers", nil, ck, nil, nil); !strings.Contains(w.Body.String(), `action="/console/officers/aro-a/suspend"`) {
		t.Fatal("the officers page shows no Suspend button for the SRO's ARO")
	}
	form := url.Values{"csrf": {csrf}}
	w := e.do("POST", "/console/officers/aro-a/suspend", form, ck, nil, nil)
	if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, "Officer aro-a suspended") ||
		!strings.Contains(body, `action="/console/officers/aro-a/reinstate"`) {
		t.Fatalf("suspend: %d", w.Code)
	}
	if w := e.do("GET", "/console/", nil, ckA, nil, nil); w.Code == http.StatusOK {
		t.Fatalf("the suspended ARO's session still answers: %d", w.Code)
	}
	w = e.do("POST", "/console/officers/aro-a/suspend", form, ck, nil, nil)
	if box := between(w.Body.String(), `<div class="error" role="alert">`, "</div>"); w.Code != http.StatusConflict || !strings.Contains(box, "E_RA_INACTIVE") {
		t.Fatalf("sent again: %d %q, want 409 E_RA_INACTIVE", w.Code, box)
	}
	if w := e.do("POST", "/console/officers/aro-a/reinstate", form, ck, nil, nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Officer aro-a reinstated") {
		t.Fatalf("reinstate: %d", w.Code)
	}
	ckA, _ = e.signIn("aro-a")
	if w := e.do("GET", "/console/", nil, ckA, nil, nil); w.Code != http.StatusOK {
		t.Fatalf("the reinstated ARO cannot sign in again: %d", w.Code)
	}
}
