package console

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/smki/smki/store"
)

// changes counts the audit records that are not reads: every state
// change the RA makes, allowed or refused, leaves one.
func (e *env) changes() int {
	e.t.Helper()
	if err := e.st.SealAudit(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	n := 0
	err := e.st.View(context.Background(), func(tx store.Tx) error {
		es, err := tx.AuditEntries(0, 100000)
		for _, a := range es {
			if !strings.HasPrefix(a.Detail, "read") && !strings.HasPrefix(a.Result, "refused") {
				n++
			}
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// routes lists the method and path of every route console.go serves.
func routes(t *testing.T) (posts, gets []string) {
	t.Helper()
	src, err := os.ReadFile("console.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`"(GET|POST) (/console/[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		if m[1] == "POST" {
			posts = append(posts, m[2])
		} else {
			gets = append(gets, m[2])
		}
	}
	return posts, gets
}

// TestEveryRouteRefusesOtherSites: each POST route console.go serves
// refuses a request from another site (with the session's own token) and
// one without the token (same site) with 403 E_CONSOLE_CSRF, and the RA
// records no change; the login link request refuses any browser page
// (Origin). The refusal is the console's page with the code, not
// net/http's text (before, signing in from another site answered
// "cross-origin request detected from Sec-Fetch-Site header"). Each GET route, opened by an RA operator, changes nothing.
// The routes are read from console.go, so a new one is checked too.
func TestEveryRouteRefusesOtherSites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	is := e.enrol()
	ck, csrf := e.signIn("admin")
	posts, gets := routes(t)
	fill := strings.NewReplacer("{id}", "x", "{token}", "x", "{serial}", is.Cert.Serial, "{$}", "")
	before := e.changes()
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
	for _, p := range posts {
		path := fill.Replace(p)
		form := url.Values{"csrf": {csrf}, "serial": {is.Cert.Serial}, "reason": {"keyCompromise"}, "party_id": {e.partyA.String()},
			"id": {"90-B3-D5-1F-30-00-00-C9"}, "name": {"x"}, "confirm": {"yes"}, "srvs": {"8.1.1"}}
		w := e.do("POST", path, form, ck, e.cert("admin"), crossSite)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "E_CONSOLE_CSRF") {
			t.Errorf("POST %s from another site: %d, want 403 E_CONSOLE_CSRF", path, w.Code)
		}
		if slices.Contains([]string{"/console/login-link", "/console/login/x", "/console/login-cert"}, path) {
			continue // signing in: no session, no token
		}
		form.Del("csrf")
		if w := e.do("POST", path, form, ck, nil, nil); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "E_CONSOLE_CSRF") {
			t.Errorf("POST %s without the token: %d, want 403 E_CONSOLE_CSRF", path, w.Code)
		}
	}
	if w := e.do("GET", "/console/", nil, ck, nil, nil); w.Code != http.StatusOK {
		t.Fatalf("the session after the refused POSTs: %d", w.Code)
	}
	for _, p := range gets {
		path := fill.Replace(p)
		if w := e.do("GET", path, nil, ck, nil, nil); w.Code >= 500 {
			t.Errorf("GET %s: %d", path, w.Code)
		}
	}
	if after := e.changes(); after != before {
		t.Fatalf("%d changes recorded by refused POSTs and GETs, want 0", after-before)
	}
	if len(posts) < 15 || len(gets) < 15 {
		t.Fatalf("read %d POST and %d GET routes from console.go: the pattern no longer matches", len(posts), len(gets))
	}
}
