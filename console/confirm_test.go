package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/ra"
)

// dryRun lists what a party's bulk revocation would revoke and returns
// the confirmation its confirm form carries ("" when it offers none).
func (e *env) dryRun(ck, csrf, party, reason string) string {
	e.t.Helper()
	w := e.do("POST", "/console/revoke-party", url.Values{"csrf": {csrf}, "party_id": {party}, "reason": {reason}}, ck, nil, nil)
	return between(w.Body.String(), `name="confirmation" value="`, `"`)
}

// waitJob polls a job's page until it no longer runs and returns the page.
func (e *env) waitJob(loc, ck string) string {
	e.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) { // the job commits on its own goroutine
		body := e.do("GET", loc, nil, ck, nil, nil).Body.String()
		if !strings.Contains(body, `id="job-state">running`) || time.Now().After(deadline) {
			return body
		}
	}
}

// TestBulkRevocationConfirmedOnce: a party's bulk revocation is confirmed
// from its dry run, once. A confirm that did not come from this officer's
// dry run of this party and reason (a hand-made confirm=yes, another
// officer's, another party's) is refused and revokes nothing. Confirmed
// twice (a double click, or the back button and the form sent again) it
// runs once: both answers open the same progress page, the second saying
// it was confirmed already. Before, confirm=yes alone revoked with no dry
// run, and each resubmission started a revocation of its own.
func TestBulkRevocationConfirmedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	is := e.enrol()
	ck, csrf := e.signIn("admin")
	party := e.partyA.String()
	confirm := func(tok, party, reason string) (int, string, string) {
		w := e.do("POST", "/console/revoke-party", url.Values{"csrf": {csrf}, "party_id": {party}, "reason": {reason},
			"confirm": {"yes"}, "confirmation": {tok}}, ck, nil, nil)
		return w.Code, w.Header().Get("Location"), w.Body.String()
	}
	good := func() bool {
		ci, err := e.svc.GetCertificate(context.Background(), e.admin, is.Cert.Serial)
		if err != nil {
			t.Fatal(err)
		}
		return ci.Status == "good"
	}

	tok := e.dryRun(ck, csrf, party, "cessationOfOperation")
	sroCk, sroCSRF := e.signIn("sro-a")
	sroTok := e.dryRun(sroCk, sroCSRF, party, "cessationOfOperation")
	for _, c := range []struct{ name, tok, party, reason string }{
		{"no dry run", "", party, "cessationOfOperation"},
		{"made up", "x" + tok, party, "cessationOfOperation"},
		{"another officer's", sroTok, party, "cessationOfOperation"},
		{"another party", tok, e.partyB.String(), "cessationOfOperation"},
		{"another reason", tok, party, "keyCompromise"},
	} {
		code, _, body := confirm(c.tok, c.party, c.reason)
		if code != http.StatusBadRequest || !strings.Contains(body, "E_RA_BAD_REQUEST") || !strings.Contains(body, "dry run") {
			t.Errorf("confirm, %s: %d, want 400 E_RA_BAD_REQUEST saying to run the dry run", c.name, code)
		}
		if !good() {
			t.Fatalf("confirm, %s: revoked the certificate", c.name)
		}
	}

	if tok == "" {
		t.Fatal("the dry run offers no confirmation")
	}
	var wg sync.WaitGroup
	locs := make([]string, 2)
	codes := make([]int, 2)
	for i := range 2 {
		wg.Go(func() { codes[i], locs[i], _ = confirm(tok, party, "cessationOfOperation") })
	}
	wg.Wait()
	if codes[0] != http.StatusSeeOther || codes[1] != http.StatusSeeOther || strings.Split(locs[0], "?")[0] != strings.Split(locs[1], "?")[0] {
		t.Fatalf("two clicks: %v %q, want both 303 to one job's page", codes, locs)
	}
	job := strings.Split(locs[0], "?")[0]
	if body := e.waitJob(job, ck); !strings.Contains(body, "1 certificates revoked.") {
		t.Fatalf("job page:\n%s", body)
	}
	code, loc, _ := confirm(tok, party, "cessationOfOperation")
	if code != http.StatusSeeOther || strings.Split(loc, "?")[0] != job {
		t.Fatalf("resubmitted: %d %q, want 303 to %s", code, loc, job)
	}
	if body := e.do("GET", loc, nil, ck, nil, nil).Body.String(); !strings.Contains(body, "already confirmed") || !strings.Contains(body, "1 certificates revoked.") {
		t.Errorf("the resubmission's page does not say it was confirmed already:\n%s", body)
	}
	es, err := e.svc.AuditLog(context.Background(), e.admin, ra.AuditQuery{Action: string(ra.ActRevokeParty)})
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, a := range es {
		if a.Result == "allowed" && !strings.HasPrefix(a.Detail, "dry-run") {
			runs++
		}
	}
	if runs != 1 {
		t.Fatalf("%d revocations of the party ran, want 1", runs)
	}
}
