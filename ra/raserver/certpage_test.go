package raserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// TestCertificatePages: GET /v1/certificates answers bounded pages in a
// stable order with a cursor (issue 20); the pages' union is the whole
// set, an SRO's pages hold only their party's, bad limit/after are 400.
func TestCertificatePages(t *testing.T) {
	t.Parallel()
	e, ts := newTestServer(t)
	ctx := context.Background()
	supA, supB := e.party("90-B3-D5-1F-30-00-00-11", "A"), e.party("90-B3-D5-1F-30-00-00-12", "B")
	supC := e.party("90-B3-D5-1F-30-00-00-13", "C")
	userA, userB := e.user("90-B3-D5-1F-30-01-00-11", supA, role.ImportSupplier), e.user("90-B3-D5-1F-30-01-00-12", supB, role.ImportSupplier)
	userC := e.user("90-B3-D5-1F-30-01-00-13", supC, role.ImportSupplier)
	// 8 certificates of A, 3 of B among the first 11, then 1,000 of C,
	// as store records (no signing: cheap), so the whole set is more
	// than one default page.
	var wantAll, wantA, wantB []string
	err := e.st.Update(ctx, func(tx store.Tx) error {
		for j := range 11 + CertPageSize {
			u, p := userA, supA
			switch {
			case j >= 11:
				u, p = userC, supC
			case j%3 == 2:
				u, p = userB, supB
			}
			serial := fmt.Sprintf("7c%030x", j+1)
			if err := tx.PutCertificate(store.Certificate{Serial: serial, Issuer: ca.IssuerIssuing,
				UserID: u.String(), PartyID: p.String(), Profile: string(ca.XMLSigning), Role: string(role.ImportSupplier),
				NotBefore: e.clock.Now().Add(-time.Hour), NotAfter: e.clock.Now().AddDate(1, 0, 0), IssuedAt: e.clock.Now(), DER: []byte{0x30, 0}}); err != nil {
				return err
			}
			wantAll = append(wantAll, serial)
			switch p {
			case supA:
				wantA = append(wantA, serial)
			case supB:
				wantB = append(wantB, serial)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := client(t, e, ts.URL, filepath.Join(e.dir, "officers", "admin"))
	e.officer(e.admin, "sro-a", ra.KindSRO, supA)
	sroA := credClient(t, e, ts.URL, "sro-a")

	// page fetches one page raw: status, serials, next, error code.
	page := func(c *raclient.Client, query string) (int, []string, string, string) {
		t.Helper()
		resp, err := c.HTTPClient().Get(ts.URL + "/v1/certificates?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			var er raapi.ErrorBody
			json.NewDecoder(resp.Body).Decode(&er)
			return resp.StatusCode, nil, "", er.Error.Code
		}
		var l raapi.CertificateList
		if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, c := range l.Certificates {
			s = append(s, c.Serial)
		}
		return resp.StatusCode, s, l.Next, ""
	}
	// walk follows next from the first page at limit n.
	walk := func(c *raclient.Client, base string, n int) ([]string, int) {
		t.Helper()
		var all []string
		pages, after := 0, ""
		for {
			q := base + "&limit=" + fmt.Sprint(n)
			if after != "" {
				q += "&after=" + url.QueryEscape(after)
			}
			st, s, next, code := page(c, q)
			if st != 200 {
				t.Fatalf("%s: %d %s", q, st, code)
			}
			if len(s) > n {
				t.Fatalf("%s: %d certificates, more than the limit", q, len(s))
			}
			pages++
			all = append(all, s...)
			if pages > len(wantAll) {
				t.Fatalf("%s: more pages than certificates: the cursor does not advance", q)
			}
			if next == "" {
				return all, pages
			}
			if next != s[len(s)-1] {
				t.Fatalf("%s: next %q is not the page's last serial", q, next)
			}
			after = next
		}
	}
	status := "status=good"
	for _, tc := range []struct {
		name      string
		c         *raclient.Client
		base      string
		n         int
		want      []string
		wantPages int
	}{
		{"party A, pages of 1", admin, status + "&party_id=" + supA.String(), 1, wantA, 8},
		{"party A, pages of 3 (last short)", admin, status + "&party_id=" + supA.String(), 3, wantA, 3},
		{"party B, exactly one full page", admin, "party_id=" + supB.String(), 3, wantB, 1},
		{"all, pages of 500", admin, status, 500, wantAll, 3},
		{"all, the largest page", admin, status, MaxCertPageSize, wantAll, 1},
		{"SRO of A, unscoped: only A", sroA, status, 2, wantA, 4},
	} {
		got, pages := walk(tc.c, tc.base, tc.n)
		if !slices.Equal(got, tc.want) || pages != tc.wantPages {
			t.Errorf("%s: %d pages %d certificates, want %d pages %d", tc.name, pages, len(got), tc.wantPages, len(tc.want))
		}
	}
	// The default page is CertPageSize, with a cursor to the rest.
	if st, s, next, _ := page(admin, ""); st != 200 || !slices.Equal(s, wantAll[:CertPageSize]) || next != wantAll[CertPageSize-1] {
		t.Errorf("default page: %d, %d certificates, next %q", st, len(s), next)
	}
	// The cursor is exclusive.
	if _, s, _, _ := page(admin, "after="+wantB[0]+"&party_id="+supB.String()); !slices.Equal(s, wantB[1:]) {
		t.Errorf("B after its first: %v", s)
	}
	if _, s, next, _ := page(admin, "after="+wantAll[len(wantAll)-1]); len(s) != 0 || next != "" {
		t.Errorf("after the last: %v next %q", s, next)
	}
	// Paging keeps authorisation: an SRO may not page through B.
	if st, _, _, code := page(sroA, "party_id="+supB.String()+"&after="+wantB[0]); st != http.StatusForbidden {
		t.Errorf("SRO of A paging B: %d %s, want 403", st, code)
	}
	for _, q := range []string{"limit=0", "limit=-1", "limit=5001", "limit=x", "after=zz", "after=0", "after=" + url.QueryEscape("7c;drop")} {
		if st, _, _, code := page(admin, q); st != http.StatusBadRequest || code != ra.ErrBadRequest.Error() {
			t.Errorf("%s: %d %s, want 400 %s", q, st, code, ra.ErrBadRequest)
		}
	}

	// raclient follows the pages: the caller sees the whole set.
	for _, tc := range []struct {
		c    *raclient.Client
		q    raapi.CertQuery
		want []string
	}{
		{admin, raapi.CertQuery{}, wantAll},
		{admin, raapi.CertQuery{Limit: 5}, wantAll[:5]},
		{admin, raapi.CertQuery{Limit: CertPageSize + 5}, wantAll[:CertPageSize+5]},
		{admin, raapi.CertQuery{After: wantAll[3]}, wantAll[4:]},
		{admin, raapi.CertQuery{PartyID: supB}, wantB},
		{sroA, raapi.CertQuery{}, wantA},
	} {
		cs, err := tc.c.ListCertificates(ctx, tc.q)
		var got []string
		for _, c := range cs {
			got = append(got, c.Serial)
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ListCertificates(%+v) = %d certificates %v, want %d", tc.q, len(got), err, len(tc.want))
		}
	}
}
