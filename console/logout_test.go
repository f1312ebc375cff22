package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smki/smki/store"
)

// TestSignOutWhileTheRACannotAnswer: signing out ends the session even
// when the RA cannot check the officer's credential just then (its store
// busy or down): sign-out only forgets the session, it asks the RA
// nothing. Before, it answered 503 "you are still signed in", and an
// officer leaving a shared desk could not end their session. It still
// needs the session's CSRF token and a same-origin request, so another
// site cannot sign an officer out.
func TestSignOutWhileTheRACannotAnswer(t *testing.T) {
	t.Parallel()
	fs := &failingStore{officers: true}
	e := newEnvFailing(t, fs)
	ck, csrf := e.signIn("admin")
	busy := fmt.Errorf("postgres: gave up after 10 retries: %w", store.ErrConflict)
	fs.err.Store(&busy)
	for _, c := range []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no token", url.Values{}, nil},
		{"cross-site", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
	} {
		if w := e.do("POST", "/console/logout", c.form, ck, nil, c.hdr); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "E_CONSOLE_CSRF") {
			t.Errorf("sign-out, %s: %d, want 403 E_CONSOLE_CSRF", c.name, w.Code)
		}
	}
	w := e.do("POST", "/console/logout", url.Values{"csrf": {csrf}}, ck, nil, nil)
	fs.err.Store(nil)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/console/login") {
		t.Fatalf("sign-out with the store busy: %d %s, want 303 to the sign-in page", w.Code, between(w.Body.String(), `role="alert">`, "</div>"))
	}
	if w := e.do("GET", "/console/", nil, ck, nil, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("the signed-out session once the store answers: %d, want 303 to sign in", w.Code)
	}
}
