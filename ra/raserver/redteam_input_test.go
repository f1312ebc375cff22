package raserver

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
)

// Red-team input handling (h14): hostile bodies over HTTP, hostile IDs,
// names, files, windows, reasons and serials through the Service. Every
// malformed input gets its stable code and writes nothing (docs/api.md
// "Audit"): the store's audit length is unchanged.

func TestRedTeamHTTPBodies(t *testing.T) {
	t.Parallel()
	e, ts := newTestServer(t)
	admin := client(t, e, ts.URL, filepath.Join(e.dir, "officers", "admin"))
	const pid = "90-B3-D5-1F-30-00-00-01"
	deep := strings.Repeat("[", 4000) + strings.Repeat("]", 4000)
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"duplicate member", "POST", "/v1/parties", `{"id":"` + pid + `","name":"a","name":"b"}`, 400, "E_RA_BAD_REQUEST"},
		{"duplicate member by case", "POST", "/v1/parties", `{"id":"` + pid + `","name":"a","NAME":"b"}`, 400, "E_RA_BAD_REQUEST"},
		{"duplicate member by Unicode folding", "POST", "/v1/revoke", `{"serial":"01","ſerial":"02"}`, 400, "E_RA_BAD_REQUEST"},
		{"duplicate member in revoke", "POST", "/v1/revoke", `{"serial":"01","serial":"02","dry_run":true}`, 400, "E_RA_BAD_REQUEST"},
		{"deep nesting in a known field", "POST", "/v1/parties", `{"id":"` + pid + `","name":` + deep + `}`, 400, "E_RA_BAD_REQUEST"},
		{"unknown field", "POST", "/v1/officers", `{"id":"x","name":"x","kind":"sro","party_id":"` + pid + `","status":"active"}`, 400, "E_RA_BAD_REQUEST"},
		{"two objects", "POST", "/v1/parties", `{"id":"` + pid + `","name":"a"}{"id":"` + pid + `","name":"b"}`, 400, "E_RA_BAD_REQUEST"},
		{"not an object", "POST", "/v1/parties", `[]`, 400, "E_RA_BAD_REQUEST"},
		{"empty body", "POST", "/v1/parties", ``, 400, "E_RA_BAD_REQUEST"},
		{"oversized", "POST", "/v1/revoke", `{"serial":"` + strings.Repeat("0", 9<<10) + `"}`, 413, "E_RA_TOO_LARGE"},
		{"officer ID with a path", "POST", "/v1/officers", `{"id":"../../etc","name":"x","kind":"ra-operator"}`, 400, "E_RA_INVALID_ID"},
		{"EUI with odd separators", "POST", "/v1/parties", `{"id":"90B3-D51F-3000-0001","name":"x"}`, 400, "E_RA_INVALID_ID"},
		{"EUI too long", "POST", "/v1/parties", `{"id":"90-B3-D5-1F-30-00-00-01-02","name":"x"}`, 400, "E_RA_INVALID_ID"},
		{"EUI all zero", "POST", "/v1/parties", `{"id":"00-00-00-00-00-00-00-00","name":"x"}`, 400, "E_RA_INVALID_ID"},
		{"EUI with non-hex", "POST", "/v1/parties", `{"id":"90-B3-D5-1F-30-00-00-0G","name":"x"}`, 400, "E_RA_INVALID_ID"},
		{"huge reason", "POST", "/v1/revoke", `{"serial":"01","reason":99999999999999999999}`, 400, "E_RA_BAD_REASON"},
		{"fractional reason", "POST", "/v1/revoke", `{"serial":"01","reason":1.5}`, 400, "E_RA_BAD_REASON"},
		{"negative limit", "GET", "/v1/certificates?limit=-1", ``, 400, "E_RA_BAD_REQUEST"},
	}
	for _, tc := range tests {
		before := ratest.AuditLen(e.t, e.st)
		status, eb, b := send(t, admin.HTTPClient(), tc.method, ts.URL+tc.path, tc.body)
		if status != tc.status || eb.Error.Code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, b, tc.status, tc.code)
		}
		if n := ratest.AuditLen(e.t, e.st); n != before {
			t.Errorf("%s: malformed request wrote %d audit records", tc.name, n-before)
		}
	}
	var n int
	e.st.View(context.Background(), func(tx store.Tx) error {
		ps, err := tx.ListParties()
		n = len(ps)
		return err
	})
	if n != 0 {
		t.Fatalf("malformed requests created %d parties", n)
	}
}
