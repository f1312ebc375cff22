package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/ra"
)

// TestBulkRevocationProgress: the confirm step of a party's bulk
// revocation answers with the job's progress page; the page shows the
// final count when done, and while it runs shows done of total with a
// refresh for browsers without script and progress.js for those with;
// its status answer is the same counts as JSON. Another officer's job
// is not there.
func TestBulkRevocationProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	is := e.enrol()
	ck, csrf := e.signIn("admin")
	tok := e.dryRun(ck, csrf, e.partyA.String(), "cessationOfOperation")
	w := e.do("POST", "/console/revoke-party", url.Values{"csrf": {csrf}, "party_id": {e.partyA.String()}, "reason": {"cessationOfOperation"},
		"confirm": {"yes"}, "confirmation": {tok}}, ck, nil, nil)
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/revoke-party/jobs/") {
		t.Fatalf("confirm: %d %q, want 303 to the job page", w.Code, loc)
	}
	var body string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) { // the job commits on its own goroutine
		w = e.do("GET", loc, nil, ck, nil, nil)
		if body = w.Body.String(); !strings.Contains(body, `id="job-state">running`) || time.Now().After(deadline) {
			break
		}
	}
	if w.Code != http.StatusOK || !strings.Contains(body, "1 certificates revoked.") || !strings.Contains(body, is.Cert.Serial) {
		t.Fatalf("job page: %d\n%s", w.Code, body)
	}
	if strings.Contains(body, "http-equiv") || strings.Contains(body, "progress.js") {
		t.Fatal("a finished job's page still refreshes itself")
	}
	if ci, err := e.svc.GetCertificate(context.Background(), e.admin, is.Cert.Serial); err != nil || ci.Status != "revoked" {
		t.Fatalf("certificate after the job: %+v %v", ci, err)
	}
	if a := e.lastAudit(ra.AuditQuery{Action: string(ra.ActRevokeParty)}); a.Result != "allowed" || !strings.HasSuffix(a.Detail, "channel=console") {
		t.Fatalf("audit %+v: want an allowed cert.revoke-party with channel=console", a)
	}
	var st jobStatus
	w = e.do("GET", loc+"/status", nil, ck, nil, nil)
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.State != jobDone || st.Done != 1 || st.Total != 1 {
		t.Fatalf("status: %d %s (%v)", w.Code, w.Body, err)
	}
	sro, _ := e.signIn("sro-a")
	if w := e.do("GET", loc, nil, sro, nil, nil); w.Code != http.StatusNotFound {
		t.Fatalf("another officer's job: %d, want 404", w.Code)
	}
	if w := e.do("GET", loc+"/status", nil, sro, nil, nil); w.Code != http.StatusNotFound {
		t.Fatalf("another officer's job status: %d, want 404", w.Code)
	}

	// A job still running, as the CA reports it part way.
	j := &revokeJob{ID: "runningjob", Officer: "admin", Party: e.partyB.String(), Reason: "unspecified", Started: e.clk.Now(),
		started: make(chan struct{}), ended: make(chan struct{})}
	j.observe(2048, 5000)
	e.c.jobs.mu.Lock()
	e.c.jobs.m[j.ID] = j
	e.c.jobs.mu.Unlock()
	body = e.do("GET", "/console/revoke-party/jobs/runningjob", nil, ck, nil, nil).Body.String()
	for _, want := range []string{"Marked 2048 of 5000 certificates.", `<progress id="progress" max="5000" value="2048"`,
		`<noscript><meta http-equiv="refresh" content="1"></noscript>`, `<script src="/console/static/progress.js" defer></script>`} {
		if !strings.Contains(body, want) {
			t.Errorf("running job page lacks %q", want)
		}
	}
	j.observe(5000, 5000)
	w = e.do("GET", "/console/revoke-party/jobs/runningjob/status", nil, ck, nil, nil)
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.State != jobRunning || st.Done != 5000 || !strings.Contains(st.Text, "committing") {
		t.Fatalf("status while committing: %s (%v)", w.Body, err)
	}
}

// TestRefusedBulkRevocationsHoldNoJobSlot: a bulk revocation the RA
// refuses at once ends at once and holds no job slot, so an officer
// confirming refused revocations again and again (here a party's SRO,
// another party's certificates) cannot keep anyone from revoking; its
// page still shows the refusal as the form did. One officer's running
// jobs are bounded too: past maxJobsPerOfficer their next is refused,
// saying to wait, while another officer's revocation starts.
func TestRefusedBulkRevocationsHoldNoJobSlot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enrol()
	confirm := func(ck, csrf, party, tok string) *httptest.ResponseRecorder {
		return e.do("POST", "/console/revoke-party", url.Values{"csrf": {csrf}, "party_id": {party}, "reason": {"cessationOfOperation"},
			"confirm": {"yes"}, "confirmation": {tok}}, ck, nil, nil)
	}
	sro, sroCSRF := e.signIn("sro-a")
	// The RA refuses sro-a's dry run of party B, which so offers no
	// confirmation; here one is offered all the same, as if sro-a had
	// lost the right between the dry run and the confirm. A refused
	// job's confirmation may be sent again: nothing was revoked.
	cessation, err := ra.ParseReason("cessationOfOperation")
	if err != nil {
		t.Fatal(err)
	}
	refusedTok := e.c.jobs.offer("sro-a", ra.RevokeRequest{PartyID: e.partyB, Reason: cessation})
	for i := range maxJobs + 1 {
		w := confirm(sro, sroCSRF, e.partyB.String(), refusedTok)
		if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "E_RA_NOT_FOUND") {
			t.Fatalf("sro-a's refused revocation %d: %d, want 404 E_RA_NOT_FOUND on the form\n%s", i, w.Code, w.Body)
		}
	}
	var refused []string
	e.c.jobs.mu.Lock()
	for id, j := range e.c.jobs.m {
		if j.Officer == "sro-a" {
			refused = append(refused, id)
		}
	}
	e.c.jobs.mu.Unlock()
	if len(refused) == 0 || len(refused) > maxKeptPerOfficer {
		t.Fatalf("sro-a's refused jobs kept: %d, want 1 to %d", len(refused), maxKeptPerOfficer)
	}
	// The page of a refused job shows the refusal the form showed (not
	// E_RA_FORBIDDEN: party B is not among sro-a's).
	w := e.do("GET", "/console/revoke-party/jobs/"+refused[0], nil, sro, nil, nil)
	if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, `id="job-state">failed`) ||
		!strings.Contains(body, "E_RA_NOT_FOUND") || strings.Contains(body, "E_RA_FORBIDDEN") {
		t.Fatalf("a refused job's page: %d, want the refusal E_RA_NOT_FOUND\n%s", w.Code, body)
	}

	// sro-a with maxJobsPerOfficer running (as a long revocation would
	// hold them): its next is refused, saying to wait.
	e.c.jobs.mu.Lock()
	for i := range maxJobsPerOfficer {
		id := fmt.Sprintf("running%d", i)
		e.c.jobs.m[id] = &revokeJob{ID: id, Officer: "sro-a", Party: e.partyA.String(), Reason: "unspecified", Started: e.clk.Now(),
			started: make(chan struct{}), ended: make(chan struct{})}
	}
	e.c.jobs.mu.Unlock()
	w = confirm(sro, sroCSRF, e.partyA.String(), e.dryRun(sro, sroCSRF, e.partyA.String(), "cessationOfOperation"))
	if body := w.Body.String(); w.Code != http.StatusServiceUnavailable || !strings.Contains(body, "E_CONSOLE_BUSY") ||
		!strings.Contains(body, fmt.Sprintf("You have %d bulk revocations running", maxJobsPerOfficer)) {
		t.Fatalf("sro-a's revocation past its running jobs: %d, want 503 E_CONSOLE_BUSY saying to wait\n%s", w.Code, body)
	}

	// The RA operator revokes all the same.
	admin, adminCSRF := e.signIn("admin")
	w = confirm(admin, adminCSRF, e.partyA.String(), e.dryRun(admin, adminCSRF, e.partyA.String(), "cessationOfOperation"))
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/revoke-party/jobs/") {
		t.Fatalf("admin's revocation: %d %q, want 303 to its job page\n%s", w.Code, loc, w.Body)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) { // let it commit before the store closes
		if w = e.do("GET", loc, nil, admin, nil, nil); !strings.Contains(w.Body.String(), `id="job-state">running`) || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(w.Body.String(), "1 certificates revoked.") {
		t.Fatalf("admin's job page:\n%s", w.Body)
	}
}
