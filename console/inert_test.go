package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/role"
)

// TestNamesRenderInert: markup in what officers and files supply (a
// party's, a user's and an officer's name, a SoLR instruction and close
// reason, a device file's line, a search term) is shown as text on every
// page that shows it, in the page's title and in error messages: the
// page never holds it as markup.
func TestNamesRenderInert(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const bad = `<script>alert(1)</script><img src=x onerror=alert(2)>"'`
	const escaped = `&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;`
	ctx := context.Background()
	ck, csrf := e.signIn("admin")
	pid := eui64.MustParse("90-B3-D5-1F-30-00-00-C7")
	uid := eui64.MustParse("90-B3-D5-1F-30-01-00-C7")
	if w := e.do("POST", "/console/parties", url.Values{"csrf": {csrf}, "id": {pid.String()}, "name": {bad}}, ck, nil, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("party: %d %s", w.Code, w.Body)
	}
	if _, err := e.svc.CreateUser(ctx, e.admin, uid, pid, role.ImportSupplier, bad); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.AppointOfficer(ctx, e.admin, ra.OfficerRequest{ID: "sro-c", Name: bad, Kind: ra.KindSRO, PartyID: pid}); err != nil {
		t.Fatal(err)
	}
	w := e.do("POST", "/console/solr", url.Values{"csrf": {csrf}, "failed_party": {e.partyA.String()}, "srp_user": {e.userB.String()},
		"instruction": {bad}, "revoke_at": {"2026-03-20T00:00"}}, ck, nil, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("declare: %d %s", w.Code, w.Body)
	}
	ev := w.Header().Get("Location")
	if w := e.do("POST", ev+"/close", url.Values{"csrf": {csrf}, "reason": {bad}}, ck, nil, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("close: %d %s", w.Code, w.Body)
	}
	pages := map[string]string{}
	for _, p := range []string{"/console/parties", "/console/parties/" + pid.String(), "/console/users/" + uid.String(), "/console/officers",
		"/console/solr", ev, "/console/audit", "/console/", "/console/certificates?user=" + url.QueryEscape(bad),
		"/console/audit?actor=" + url.QueryEscape(bad), "/console/devices?supplier=" + url.QueryEscape(bad), "/console/adt?sc=" + url.QueryEscape(bad)} {
		pages["GET "+p] = e.do("GET", p, nil, ck, nil, nil).Body.String()
	}
	file := "device_eui64,supplier_user_id,smets\n" + bad + "," + uid.String() + ",2\n"
	pages["device file"] = e.do("POST", "/console/devices", url.Values{"csrf": {csrf}, "devices": {file}}, ck, nil, nil).Body.String()
	pages["user of a bad party"] = e.do("POST", "/console/users", url.Values{"csrf": {csrf}, "party_id": {pid.String()}, "id": {bad}, "role": {"IS"}, "name": {bad}}, ck, nil, nil).Body.String()
	for what, body := range pages {
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, "onerror=alert(2)>\"") {
			t.Errorf("%s: holds the markup unescaped", what)
		}
	}
	for _, what := range []string{"GET /console/parties", "GET /console/parties/" + pid.String(), "GET /console/users/" + uid.String(), "GET /console/officers", "GET " + ev} {
		if !strings.Contains(pages[what], escaped) {
			t.Errorf("%s: does not show the name as text", what)
		}
	}
	if title := between(pages["GET /console/parties/"+pid.String()], "<title>", "</title>"); !strings.Contains(title, escaped) {
		t.Errorf("the party page's title %q does not show the name as text", title)
	}
}
