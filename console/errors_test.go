package console

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/smki/smki/store"
)

// TestStoreFailurePagesSayWhatToDo: a page whose read the store could not
// answer shows the RA's code, a sentence of what happened (not the
// store's text, and not "internal error" for a store that was only busy
// or closing) and what to do next; a busy store's page says when to try
// again (Retry-After), as the API does.
func TestStoreFailurePagesSayWhatToDo(t *testing.T) {
	t.Parallel()
	fs := &failingStore{certificates: true}
	e := newEnvFailing(t, fs)
	ck, _ := e.signIn("admin")
	for _, tc := range []struct {
		name, code string
		err        error
		retry      bool
	}{
		{"busy", "E_RA_BUSY", fmt.Errorf("postgres: gave up after 10 retries: %w", store.ErrConflict), true},
		{"failing", "E_RA_INTERNAL", errors.New("disk I/O error"), false},
	} {
		for _, path := range []string{"/console/certificates", "/console/users/" + e.userA.String()} {
			fs.err.Store(&tc.err)
			w := e.do("GET", path, nil, ck, nil, nil)
			fs.err.Store(nil)
			box := between(w.Body.String(), `<div class="error" role="alert">`, "</div>")
			next := between(box, `<span class="next">`, "</span>")
			if w.Code < 500 || !strings.Contains(box, tc.code) || next == "" {
				t.Errorf("%s, %s: %d, error %q: want 5xx with %s and what to do next", tc.name, path, w.Code, box, tc.code)
			}
			if tc.code != "E_RA_INTERNAL" && strings.Contains(box, "internal error") {
				t.Errorf("%s, %s: %q calls a %s an internal error", tc.name, path, box, tc.code)
			}
			if strings.Contains(w.Body.String(), "disk I/O") || strings.Contains(w.Body.String(), "postgres:") || strings.Contains(w.Body.String(), "bolt:") {
				t.Errorf("%s, %s: the page shows the store's own text", tc.name, path)
			}
			if got := w.Header().Get("Retry-After"); tc.retry != (got != "") {
				t.Errorf("%s, %s: Retry-After %q", tc.name, path, got)
			}
		}
	}
}

// TestRefusalShowsItsCodeOnce: a refusal's box reads "CODE sentence.
// What to do.", not "CODE CODE: sentence" (the RA's error text starts
// with its code, which the page already shows in bold).
func TestRefusalShowsItsCodeOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ck, csrf := e.signIn("admin")
	for _, c := range []struct {
		name, method, path string
		form               url.Values
		code               string
	}{
		{"bad party ID", "POST", "/console/parties", url.Values{"csrf": {csrf}, "id": {"nope"}, "name": {"x"}}, "E_RA_INVALID_ID"},
		{"no such user", "GET", "/console/users/90-B3-D5-1F-30-01-0F-0F", nil, "E_RA_NOT_FOUND"},
		{"bad serial", "GET", "/console/certificates/zz", nil, "E_RA_BAD_SERIAL"},
	} {
		box := between(e.do(c.method, c.path, c.form, ck, nil, nil).Body.String(), `<div class="error" role="alert">`, "</div>")
		if n := strings.Count(box, c.code); n != 1 || !strings.Contains(box, `class="next"`) {
			t.Errorf("%s: %q shows %s %d times, want once, with what to do", c.name, box, c.code, n)
		}
	}
}
