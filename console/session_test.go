package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestOneOfficerCannotFillTheSessionTable: an officer signing in again
// and again (any valid credential, here a party's SRO) holds at most
// maxPerOfficer sessions and as many login links: a new one ends that
// officer's least recently used session, or drops their oldest link, so
// the table never fills for everyone else, and the officer's own newest
// sign-in always works.
func TestOneOfficerCannotFillTheSessionTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	noOrigin := map[string]string{"Origin": "", "Sec-Fetch-Site": ""}

	// What the login-link and sign-in handlers do after authenticating
	// sro-a, as many times as the whole table holds.
	sro := e.cert("sro-a")
	for range maxPending {
		if _, _, ok := e.c.ss.newLink(sro); !ok {
			break
		}
	}
	for range maxPending {
		if _, ok := e.c.ss.start("sro-a", sro); !ok {
			break
		}
	}
	if w := e.do("POST", "/console/login-link", nil, "", e.cert("admin"), noOrigin); w.Code != http.StatusOK {
		t.Fatalf("admin's login link after sro-a's flood: %d %s", w.Code, w.Body)
	}
	admin, _ := e.signIn("admin") // fails the test if refused

	// sro-a at the cap: each new sign-in ends sro-a's least recently used
	// session, never another officer's.
	cks := make([]string, maxPerOfficer)
	for i := range cks {
		cks[i], _ = e.signIn("sro-a")
	}
	// Used in this order, cks[1] is the least recently used (not the
	// oldest, cks[0]).
	for _, ck := range append(append([]string{}, cks[2:]...), cks[0]) {
		if w := e.do("GET", "/console/", nil, ck, nil, nil); w.Code != http.StatusOK {
			t.Fatalf("sro-a's session: %d", w.Code)
		}
	}
	newest, _ := e.signIn("sro-a")
	signedOut := func(ck string) bool {
		w := e.do("GET", "/console/", nil, ck, nil, nil)
		return w.Code == http.StatusSeeOther && strings.HasPrefix(w.Header().Get("Location"), "/console/login")
	}
	if !signedOut(cks[1]) {
		t.Error("sro-a's least recently used session outlived a sign-in past the cap")
	}
	for i, ck := range append(append([]string{}, cks...), newest) {
		if i != 1 && signedOut(ck) {
			t.Errorf("sro-a's session %d ended; only the least recently used (1) should have", i)
		}
	}
	if signedOut(admin) {
		t.Error("sro-a's sign-ins ended admin's session")
	}
	if n := e.c.ss.count("sro-a"); n != maxPerOfficer {
		t.Errorf("sro-a holds %d sessions, want %d", n, maxPerOfficer)
	}

	// Login links likewise: past the cap the oldest is dropped.
	toks := make([]string, maxPerOfficer+1)
	for i := range toks {
		w := e.do("POST", "/console/login-link", nil, "", sro, noOrigin)
		if w.Code != http.StatusOK {
			t.Fatalf("link %d: %d %s", i, w.Code, w.Body)
		}
		toks[i] = linkToken(t, w.Body.String())
		e.clk.Advance(1) // links expire in the order they were made
	}
	if w := e.do("GET", "/console/login/"+toks[0], nil, "", nil, nil); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "E_CONSOLE_LINK") {
		t.Errorf("sro-a's oldest link past the cap: %d, want 404 E_CONSOLE_LINK", w.Code)
	}
	if w := e.do("POST", "/console/login/"+toks[len(toks)-1], url.Values{}, "", nil, nil); w.Code != http.StatusSeeOther {
		t.Errorf("sro-a's newest link: %d, want 303", w.Code)
	}
}
