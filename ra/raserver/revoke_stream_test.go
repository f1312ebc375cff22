package raserver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/raclient"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/ra/records"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

// credClient writes officer id's credential and returns a client for it.
func credClient(t *testing.T, e *env, url, id string) *raclient.Client {
	t.Helper()
	dir := filepath.Join(t.TempDir(), id)
	if err := ownpki.WriteCredential(dir, e.cred[id]); err != nil {
		t.Fatal(err)
	}
	return client(t, e, url, dir)
}

// enrolMany issues n xml-signing certificates to an Import Supplier user.
func enrolMany(t *testing.T, e *env, by ra.Actor, uid eui64.ID, n int) {
	t.Helper()
	for range n {
		if _, err := e.svc.Enrol(context.Background(), by, ra.EnrolRequest{UserID: uid, Profile: ca.XMLSigning,
			CSR: ratest.CSR(t, ratest.NewKey(t), uid, role.ImportSupplier, ca.XMLSigning), Mode: ra.ModeEnrol}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRevokeStreamServer(t *testing.T) {
	t.Parallel()
	e, ts := newTestServer(t)
	ctx := context.Background()
	big, small := e.party("90-B3-D5-1F-30-00-00-01", "Big"), e.party("90-B3-D5-1F-30-00-00-12", "Small")
	bigUser := e.user("90-B3-D5-1F-30-01-00-01", big, role.ImportSupplier)
	smallUser := e.user("90-B3-D5-1F-30-01-00-02", small, role.ImportSupplier)
	sroBig := e.officer(e.admin, "sro-big", ra.KindSRO, big)
	sroSmall := e.officer(e.admin, "sro-small", ra.KindSRO, small)
	// More than one progress step of the CA (256 serials), so that the
	// stream can carry an intermediate line as well as the final one.
	const n = 300
	enrolMany(t, e, sroBig, bigUser, n)
	enrolMany(t, e, sroSmall, smallUser, 1)
	sro := credClient(t, e, ts.URL, "sro-big")
	other := credClient(t, e, ts.URL, "sro-small")
	admin := client(t, e, ts.URL, filepath.Join(e.dir, "officers", "admin"))
	req := ra.RevokeRequest{PartyID: big, Reason: 5, Yes: true}

	// Refused before the revocation starts: the plain coded HTTP error, no progress.
	calls := 0
	count := func(int, int) { calls++ }
	_, err := other.RevokeWithProgress(ctx, req, count)
	var ae *raclient.APIError
	// Another party is, to a party officer, no party (finding 7).
	if !errors.As(err, &ae) || ae.Code != ra.ErrNotFound.Error() || ae.Status != http.StatusNotFound || calls != 0 {
		t.Fatalf("other party's SRO: %v (%d progress calls)", err, calls)
	}
	resp := postNDJSON(t, other, ts.URL, `{"party_id":"`+big.String()+`","reason":5,"yes":true}`)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(string(body), `"code": "E_RA_NOT_FOUND"`) {
		t.Fatalf("refusal over NDJSON: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	// A dry run never streams: the same answer as the plain call.
	dry, err := sro.Revoke(ctx, ra.RevokeRequest{PartyID: big, Reason: 5})
	if err != nil || !dry.DryRun || dry.CertificateCount != n || len(dry.Certificates) != ra.DryRunSample {
		t.Fatalf("dry run: %d certificates, %d listed, %v", dry.CertificateCount, len(dry.Certificates), err)
	}
	dry2, err := sro.RevokeWithProgress(ctx, ra.RevokeRequest{PartyID: big, Reason: 5}, count)
	if err != nil || calls != 0 || !reflect.DeepEqual(dry, dry2) {
		t.Fatalf("dry run with progress: %v, %d progress calls, equal %v", err, calls, reflect.DeepEqual(dry, dry2))
	}

	// The revocation: progress rises to the total, then the result.
	var seen []raapi.RevokeProgress
	res, err := sro.RevokeWithProgress(ctx, req, func(done, total int) { seen = append(seen, raapi.RevokeProgress{Done: done, Total: total}) })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || seen[len(seen)-1] != (raapi.RevokeProgress{Done: n, Total: n}) {
		t.Fatalf("progress %v, want it to end at %d/%d", seen, n, n)
	}
	for i, p := range seen {
		if p.Total != n || p.Done <= 0 || (i > 0 && p.Done < seen[i-1].Done) {
			t.Fatalf("progress %v: not rising to %d", seen, n)
		}
	}
	// The result is a summary of bounded size (issue 20): the selection's
	// count, the dry run's sample (same order) now revoked with its
	// revocations in sequence, the count and digest of every revocation,
	// and the sequence numbers they took.
	if res.DryRun || res.Reason != 5 || res.CertificateCount != n || res.RevokedCount != n || res.LastSeq-res.FirstSeq != n-1 ||
		!reflect.DeepEqual(serialsOf(res.Certificates), serialsOf(dry.Certificates)) || len(res.Revocations) != len(res.Certificates) ||
		!reflect.DeepEqual(res.ByUser, dry.ByUser) || !reflect.DeepEqual(res.ByProfile, dry.ByProfile) {
		t.Fatalf("result: dry %v reason %d, count %d, revoked %d, seq %d..%d, %d certificates (the dry run's sample: %v), %d revocations, by user %v",
			res.DryRun, res.Reason, res.CertificateCount, res.RevokedCount, res.FirstSeq, res.LastSeq, len(res.Certificates),
			reflect.DeepEqual(serialsOf(res.Certificates), serialsOf(dry.Certificates)), len(res.Revocations), res.ByUser)
	}
	for i, c := range res.Certificates {
		r := res.Revocations[i]
		if c.Status != "revoked" || c.Reason == nil || *c.Reason != 5 || r.Serial != c.Serial || r.Reason != 5 ||
			(i > 0 && r.Seq != res.Revocations[i-1].Seq+1) || r.Seq < res.FirstSeq || r.Seq > res.LastSeq {
			t.Fatalf("result certificate %+v, revocation %+v", c, r)
		}
	}
	// Its certificates_url, paged, lists every revoked certificate once:
	// the summary's count, digest and counts per user and profile.
	var listed []string
	byUser, byProfile := map[string]int{}, map[string]int{}
	pages := 0
	for after := ""; ; pages++ {
		u := ts.URL + res.CertificatesURL + "&limit=64"
		if after != "" {
			u += "&after=" + after
		}
		var page raapi.CertificateList
		if err := json.Unmarshal([]byte(get(t, sro, u)), &page); err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Certificates {
			if c.Status != "revoked" || c.PartyID != big.String() || c.RevokedAt == nil || !c.RevokedAt.Equal(*res.RevokedAt) {
				t.Fatalf("listed %+v, want a certificate of %s revoked at %v", c, big, res.RevokedAt)
			}
			listed = append(listed, c.Serial)
			byUser[c.UserID]++
			byProfile[c.Profile]++
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(listed) != res.RevokedCount || pages < n/64 || records.SerialsDigest(listed) != res.RevokedSHA256 ||
		!reflect.DeepEqual(byUser, res.ByUser) || !reflect.DeepEqual(byProfile, res.ByProfile) ||
		len(res.Revoked) != records.RevokedSample || !allIn(res.Revoked, listed) {
		t.Fatalf("certificates_url %s: %d listed in %d pages, digest %s, by user %v; the summary: %d, %s, %v",
			res.CertificatesURL, len(listed), pages+1, records.SerialsDigest(listed), byUser, res.RevokedCount, res.RevokedSHA256, res.ByUser)
	}
	if cs, err := sro.ListCertificates(ctx, ra.CertQuery{PartyID: big, Status: "good"}); err != nil || len(cs) != 0 {
		t.Fatalf("good certificates left: %d %v", len(cs), err)
	}
	// Nothing left to revoke: the empty selection is a plain answer.
	if empty, err := sro.RevokeWithProgress(ctx, req, count); err != nil || len(empty.Certificates) != 0 || calls != 0 {
		t.Fatalf("empty selection: %+v %v %d", empty, err, calls)
	}

	// On the wire: NDJSON, progress lines, then exactly one result line.
	resp = postNDJSON(t, admin, ts.URL, `{"user_id":"`+smallUser.String()+`","reason":"keyCompromise","yes":true}`)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != raapi.MediaNDJSON {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var lines []string
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 2 || lines[0] != `{"progress":{"done":1,"total":1}}` || !strings.HasPrefix(lines[1], `{"result":{"dry_run":false,"reason":1,`) {
		t.Fatalf("stream lines:\n%s", strings.Join(lines, "\n"))
	}
	if m := get(t, admin, ts.URL+"/metrics"); !strings.Contains(m, fmt.Sprintf(`smki_ra_certificates_revoked_total{reason="cessationOfOperation"} %d`, n)) ||
		!strings.Contains(m, `smki_ra_certificates_revoked_total{reason="keyCompromise"} 1`) {
		t.Error("metrics do not count the streamed revocations")
	}
	if err := ra.VerifyAudit(ctx, e.st); err != nil {
		t.Fatal(err)
	}
}

func postNDJSON(t *testing.T, c *raclient.Client, url, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/revoke", strings.NewReader(body))
	req.Header.Set("Accept", raapi.MediaNDJSON)
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestAcceptsNDJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{"application/json"}, false},
		{[]string{"*/*"}, false},
		{[]string{raapi.MediaNDJSON}, true},
		{[]string{"Application/X-NDJSON"}, true},
		{[]string{"application/json, application/x-ndjson;q=0.8"}, true},
		{[]string{"application/json", "application/x-ndjson"}, true},
		{[]string{"application/x-ndjson;q=0"}, false},
		{[]string{"application/x-ndjson;q=x"}, false},
	}
	for _, tc := range tests {
		h := http.Header{"Accept": tc.accept}
		if got := acceptsNDJSON(h); got != tc.want {
			t.Errorf("Accept %q: %v, want %v", tc.accept, got, tc.want)
		}
	}
}

// deadlineWriter is a ResponseWriter that records, in order, the calls a
// progress stream makes on it.
type deadlineWriter struct {
	hdr    http.Header
	status int
	events []string
	lines  []string
}

func (w *deadlineWriter) Header() http.Header { return w.hdr }
func (w *deadlineWriter) WriteHeader(s int)   { w.status = s }
func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.events = append(w.events, "write")
	w.lines = append(w.lines, string(b))
	return len(b), nil
}
func (w *deadlineWriter) Flush() { w.events = append(w.events, "flush") }
func (w *deadlineWriter) SetWriteDeadline(d time.Time) error {
	if d.Before(time.Now()) {
		w.events = append(w.events, "past deadline")
	}
	w.events = append(w.events, "deadline")
	return nil
}

// Each line gets its own write deadline (so that a stream outlives the
// server's WriteTimeout) and is flushed; the last observation is written
// before the handler's final line; without observations nothing is.
func TestProgressStream(t *testing.T) {
	t.Parallel()
	w := &deadlineWriter{hdr: http.Header{}}
	ps := newProgressStream(w)
	go ps.run()
	if ps.stop() || w.status != 0 || len(w.events) != 0 {
		t.Fatalf("no progress: streamed %v, status %d, events %v", ps.started, w.status, w.events)
	}

	w = &deadlineWriter{hdr: http.Header{}}
	ps = newProgressStream(w)
	go ps.run()
	ps.observe(256, 600)
	ps.observe(512, 600)
	ps.observe(600, 600)
	if !ps.stop() {
		t.Fatal("progress was observed but the answer is not a stream")
	}
	ps.writeLine(raapi.RevokeLine{Result: &ra.RevokeResult{Reason: 1}})
	if w.status != http.StatusOK || w.hdr.Get("Content-Type") != raapi.MediaNDJSON {
		t.Fatalf("status %d, content type %q", w.status, w.hdr.Get("Content-Type"))
	}
	for i := 0; i < len(w.events); i += 3 {
		if !slices.Equal(w.events[i:min(i+3, len(w.events))], []string{"deadline", "write", "flush"}) {
			t.Fatalf("events %v: want deadline, write, flush per line", w.events)
		}
	}
	if n := len(w.lines); n < 2 || w.lines[n-2] != `{"progress":{"done":600,"total":600}}`+"\n" || !strings.HasPrefix(w.lines[n-1], `{"result":`) {
		t.Fatalf("lines %q", w.lines)
	}
}

func serialsOf(cs []ra.CertInfo) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Serial
	}
	return out
}

// allIn reports whether every one of some is among all.
func allIn(some, all []string) bool {
	for _, x := range some {
		if !slices.Contains(all, x) {
			return false
		}
	}
	return true
}
