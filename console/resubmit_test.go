package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/store"
)

// TestRevokeResubmitted: a revocation sent twice (a double click, or the
// back button and the form sent again) revokes once, and the second
// answer says so with E_RA_ALREADY_REVOKED and what to do next; before,
// the second answer was the certificate page with no word of why
// (the refusal was placed next to the revocation form, which a revoked
// certificate's page no longer shows). The same holds for approving or
// closing a SoLR event twice (E_RA_EVENT_STATE).
func TestRevokeResubmitted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	is := e.enrol()
	ck, csrf := e.signIn("aro-a")
	form := url.Values{"csrf": {csrf}, "serial": {is.Cert.Serial}, "reason": {"keyCompromise"}}
	codes := make([]int, 2)
	bodies := make([]string, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			w := e.do("POST", "/console/revoke", form, ck, nil, nil)
			codes[i], bodies[i] = w.Code, w.Body.String()
		})
	}
	wg.Wait()
	if codes[0] == codes[1] || min(codes[0], codes[1]) != http.StatusSeeOther {
		t.Fatalf("two clicks: %v, want one 303 and one refusal", codes)
	}
	// The back button: the same form again, after the first succeeded.
	w := e.do("POST", "/console/revoke", form, ck, nil, nil)
	for _, a := range []struct {
		name string
		code int
		body string
	}{{"second click", max(codes[0], codes[1]), bodies[0] + bodies[1]}, {"resubmitted", w.Code, w.Body.String()}} {
		box := between(a.body, `<div class="error" role="alert">`, "</div>")
		if a.code != http.StatusConflict || !strings.Contains(box, "E_RA_ALREADY_REVOKED") || !strings.Contains(box, `class="next"`) {
			t.Errorf("%s: %d, error %q: want 409 saying E_RA_ALREADY_REVOKED and what to do", a.name, a.code, box)
		}
	}
	var revs []store.Revocation
	err := e.st.View(context.Background(), func(tx store.Tx) (err error) {
		revs, err = tx.RevocationsSince(0, 100)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range revs {
		if r.Serial == is.Cert.Serial {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d revocations of %s, want 1", n, is.Cert.Serial)
	}

	// A SoLR event approved twice, closed twice.
	ckA, csrfA := e.signIn("admin")
	w = e.do("POST", "/console/solr", url.Values{"csrf": {csrfA}, "failed_party": {e.partyA.String()}, "srp_user": {e.userB.String()},
		"instruction": {"AUTH-2026-009"}, "revoke_at": {"2026-03-20T00:00"}}, ckA, nil, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("declare: %d %s", w.Code, w.Body)
	}
	ev := w.Header().Get("Location")
	_ = ra.KindRAApprover
	for _, step := range []struct {
		path string
		form url.Values
	}{{ev + "/close", url.Values{"csrf": {csrfA}, "reason": {"withdrawn"}}}} {
		if w := e.do("POST", step.path, step.form, ckA, nil, nil); w.Code != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", step.path, w.Code, w.Body)
		}
		w := e.do("POST", step.path, step.form, ckA, nil, nil)
		box := between(w.Body.String(), `<div class="error" role="alert">`, "</div>")
		if w.Code != http.StatusConflict || !strings.Contains(box, "E_RA_EVENT_STATE") {
			t.Errorf("%s again: %d, error %q: want 409 saying E_RA_EVENT_STATE", step.path, w.Code, box)
		}
	}
}
