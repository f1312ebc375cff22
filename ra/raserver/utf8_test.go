package raserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
)

// TestFinding9InvalidUTF8Refused is issue 12's finding 9: a name holding a
// byte that is not UTF-8 ("x\xff") was stored as U+FFFD with 201. Every
// request body with invalid UTF-8 is refused 400 E_RA_BAD_REQUEST before
// decoding, and nothing is created.
func TestFinding9InvalidUTF8Refused(t *testing.T) {
	t.Parallel()
	e, ts := newTestServer(t)
	admin := client(t, e, ts.URL, filepath.Join(e.dir, "officers", "admin"))
	const pid = "90-B3-D5-1F-30-00-00-01"
	for _, tc := range []struct{ name, path, body string }{
		{"party name", "/v1/parties", `{"id":"` + pid + `","name":"x` + "\xff" + `"}`},
		{"user name", "/v1/users", `{"id":"90-B3-D5-1F-30-01-00-01","party_id":"` + pid + `","role":"IS","name":"` + "\xc3\x28" + `"}`},
		{"officer name", "/v1/officers", `{"id":"o1","name":"` + "\xed\xa0\x80" + `","kind":"ra-operator"}`},
		{"outside a string", "/v1/revoke", `{"serial":"01"}` + "\xff"},
	} {
		status, eb, b := send(t, admin.HTTPClient(), "POST", ts.URL+tc.path, tc.body)
		if status != 400 || eb.Error.Code != "E_RA_BAD_REQUEST" || !strings.Contains(eb.Error.Message, "UTF-8") {
			t.Errorf("%s: %d %s, want 400 E_RA_BAD_REQUEST naming UTF-8", tc.name, status, b)
		}
	}
	e.st.View(context.Background(), func(tx store.Tx) error {
		if ps, _ := tx.ListParties(); len(ps) != 0 {
			t.Errorf("parties created: %+v", ps)
		}
		return nil
	})
}

// TestPathIDNotUTF8: a path segment or query value that decodes to bytes
// that are not UTF-8, or to NUL, is refused 400 E_RA_BAD_REQUEST before
// any decision, like such a body, and writes nothing; the audit chain
// still verifies. Before, "/v1/officers/%FF" reached the Service as an
// officer ID and its refusal's audit record carried the byte: on bbolt
// the chain no longer verified (JSON stored U+FFFD, the hash was over
// 0xFF), on PostgreSQL the refusal could not be audited.
func TestPathIDNotUTF8(t *testing.T) {
	t.Parallel()
	e, ts := newTestServer(t)
	admin := client(t, e, ts.URL, filepath.Join(e.dir, "officers", "admin"))
	before := ratest.AuditLen(t, e.st)
	for _, tc := range []struct{ method, path string }{
		{"DELETE", "/v1/officers/%FF%FE"},
		{"POST", "/v1/officers/a%00b/credential"},
		{"GET", "/v1/solr-events/%C3%28"},
		{"GET", "/v1/certificates?party=%FF"},
		{"GET", "/v1/certificates?%FF=1"},
	} {
		status, eb, b := send(t, admin.HTTPClient(), tc.method, ts.URL+tc.path, `{}`)
		if status != 400 || eb.Error.Code != "E_RA_BAD_REQUEST" || !strings.Contains(eb.Error.Message, "UTF-8") {
			t.Errorf("%s %s: %d %s, want 400 E_RA_BAD_REQUEST naming UTF-8", tc.method, tc.path, status, b)
		}
	}
	if n := ratest.AuditLen(t, e.st); n != before {
		t.Errorf("malformed requests wrote %d audit records, want none", n-before)
	}
	if err := ra.VerifyAudit(context.Background(), e.st); err != nil {
		t.Fatalf("audit chain after malformed paths: %v", err)
	}
}

// send makes one request through c and returns the status, the error
// body (zero when the answer is not one) and the raw answer.
func send(t *testing.T, c *http.Client, method, url, body string) (int, raapi.ErrorBody, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var eb raapi.ErrorBody
	json.Unmarshal(b, &eb)
	return resp.StatusCode, eb, b
}
