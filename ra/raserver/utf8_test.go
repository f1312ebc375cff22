package raserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/ra/raapi"
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
		req, _ := http.NewRequest("POST", ts.URL+tc.path, strings.NewReader(tc.body))
		resp, err := admin.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var eb raapi.ErrorBody
		json.Unmarshal(b, &eb)
		if resp.StatusCode != 400 || eb.Error.Code != "E_RA_BAD_REQUEST" || !strings.Contains(eb.Error.Message, "UTF-8") {
			t.Errorf("%s: %d %s, want 400 E_RA_BAD_REQUEST naming UTF-8", tc.name, resp.StatusCode, b)
		}
	}
	e.st.View(context.Background(), func(tx store.Tx) error {
		if ps, _ := tx.ListParties(); len(ps) != 0 {
			t.Errorf("parties created: %+v", ps)
		}
		return nil
	})
}
