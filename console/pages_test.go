package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ratest"
)

// enrolN gives the SC user of party A n certificates.
func (e *env) enrolN(n int) {
	e.t.Helper()
	for i := 0; i < n; i++ {
		csr, err := ra.NewCSR(ratest.NewKey(e.t), e.userA, "SC", ca.XMLSigning, "")
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.svc.Enrol(context.Background(), e.actor("aro-a"), ra.EnrolRequest{UserID: e.userA, Profile: ca.XMLSigning, CSR: csr, Mode: ra.ModeEnrol}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// TestSoLRDryRunShowsTheCount: the event page tells the approving officer
// how many certificates approval revokes -- the dry run's count, not the
// length of its sample of 20 (it said "Revoke 20 certificates" for a
// Supplier with thousands) -- and tells an SRP party's officer, from whom
// the failed party's certificates are withheld, that they are withheld,
// not that there are none ("Revoke 0 certificates").
func TestSoLRDryRunShowsTheCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 23 // more than the dry run's sample
	e.enrolN(n)
	e.appoint("admin", "sro-b", ra.KindSRO, e.partyB)
	ck, csrf := e.signIn("admin")
	w := e.do("POST", "/console/solr", url.Values{"csrf": {csrf}, "failed_party": {e.partyA.String()}, "srp_user": {e.userB.String()},
		"instruction": {"AUTH-2026-002"}, "revoke_at": {"2026-03-20T00:00"}}, ck, nil, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("declare: %d %s", w.Code, w.Body)
	}
	ev := w.Header().Get("Location")
	page := e.do("GET", ev, nil, ck, nil, nil).Body.String()
	if got := between(page, `<p id="dry-run">`, "</p>"); !strings.HasPrefix(got, "Revoke 23 certificates") {
		t.Errorf("RA officer's dry run reads %q, want it to start 'Revoke 23 certificates'", got)
	}
	if !strings.Contains(page, `id="dry-sample">The first 20 are shown.`) {
		t.Errorf("RA officer's page does not say the table is a sample of 20")
	}
	ckB, _ := e.signIn("sro-b")
	page = e.do("GET", ev, nil, ckB, nil, nil).Body.String()
	got := between(page, `<p id="dry-run">`, "</p>")
	if !strings.Contains(got, "not shown to your party") || strings.Contains(got, "Revoke 0") {
		t.Errorf("SRP officer's dry run reads %q, want the certificates said withheld", got)
	}
	if strings.Contains(page, `class="certs"`) {
		t.Errorf("SRP officer's page shows a certificate table")
	}
}
