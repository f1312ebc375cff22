package console

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
)

// TestListPagesOnPostgres: the listings the console pages through (the
// certificates expiring soon, across the RA's scan pages; a role; the
// audit log's newest entries) answer the same on PostgreSQL as on bbolt.
func TestListPagesOnPostgres(t *testing.T) {
	t.Parallel()
	e := newEnvOn(t, func(string) (store.Store, error) {
		return postgres.Open(context.Background(), pgtest.SchemaURL(t))
	})
	const n = 1200 // more than one of the RA's expiring scan pages (1,000)
	e.putCerts(n, e.clk.Now().AddDate(0, 0, 10))
	e.c.certPage = 500
	ck, _ := e.signIn("admin")
	home := e.do("GET", "/console/", nil, ck, nil, nil).Body.String()
	if !strings.Contains(home, `id="more-expiring"`) || strings.Count(between(home, "Certificates expiring within 30 days", "</section>"), "<tr><td>") != homeExpiring {
		t.Errorf("home: want %d expiring and a link to the rest", homeExpiring)
	}
	seen := map[string]bool{}
	next := "/console/certificates?status=good&expiring=30"
	for pages := 0; next != ""; pages++ {
		if pages > 4 {
			t.Fatal("more pages than certificates")
		}
		w := e.do("GET", next, nil, ck, nil, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", next, w.Code)
		}
		body := w.Body.String()
		for _, row := range strings.Split(between(body, "<tbody>", "</tbody>"), "</tr>") {
			if s := between(row, `href="/console/certificates/`, `"`); s != "" {
				seen[s] = true
			}
		}
		next = html.UnescapeString(between(body, `<a id="next-page" href="`, `"`))
	}
	if len(seen) != n {
		t.Errorf("the expiring pages listed %d certificates, want %d", len(seen), n)
	}
	if body := e.do("GET", "/console/certificates?role=IS", nil, ck, nil, nil).Body.String(); !strings.Contains(body, "No certificates.") || strings.Contains(body, "next-page") {
		t.Errorf("role IS: want none and no next page")
	}
	if body := e.do("GET", "/console/certificates?role=sc", nil, ck, nil, nil).Body.String(); strings.Count(body, `<td class="st-good">`) != 500 {
		t.Errorf("role SC: want a full page of 500")
	}
	body := e.do("GET", "/console/audit?action=party.create", nil, ck, nil, nil).Body.String()
	if a, b := strings.Index(body, "party:"+e.partyA.String()), strings.Index(body, "party:"+e.partyB.String()); b < 0 || a < b {
		t.Errorf("audit: party.create entries not newest first")
	}
}
