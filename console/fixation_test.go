package console

import (
	"net/http"
	"net/url"
	"testing"
)

// TestSignInStartsAFreshSession: signing in never adopts the cookie the
// browser sent (a value planted by an attacker, or an earlier session):
// it always issues a new one, and the session the browser held before
// ends on the server, so a copy of the old cookie stops working. Before,
// the earlier session stayed open for its idle time after the browser
// had dropped its cookie for the new one.
func TestSignInStartsAFreshSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	works := func(ck string) bool { return e.do("GET", "/console/", nil, ck, nil, nil).Code == http.StatusOK }
	old, _ := e.signIn("admin")
	noOrigin := map[string]string{"Origin": "", "Sec-Fetch-Site": ""}
	for _, planted := range []string{old, "planted-by-an-attacker"} {
		w := e.do("POST", "/console/login-link", nil, "", e.cert("sro-a"), noOrigin)
		w = e.do("POST", "/console/login/"+linkToken(t, w.Body.String()), url.Values{}, planted, nil, nil)
		var fresh string
		for _, c := range w.Result().Cookies() {
			if c.Name == cookieName {
				fresh = c.Value
				if c.Domain != "" || c.MaxAge != 0 || !c.Expires.IsZero() || c.Path != "/console/" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode {
					t.Errorf("cookie %+v: want host-only, no expiry (ends with the browser), path /console/, HttpOnly, Secure, SameSite=Strict", c)
				}
			}
		}
		if w.Code != http.StatusSeeOther || fresh == "" || fresh == planted || !works(fresh) {
			t.Fatalf("signing in over %q: %d, cookie %q: want a new working session", planted, w.Code, fresh)
		}
	}
	if works(old) {
		t.Error("the session the browser held before signing in again still works")
	}
}
