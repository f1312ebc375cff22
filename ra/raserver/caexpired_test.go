package raserver

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
)

// errorsOnly is a server with nothing behind it but what writeError
// needs: a logger and metrics.
func errorsOnly(t *testing.T) *server {
	t.Helper()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return &server{log: slog.New(slog.DiscardHandler), m: m}
}

// answerTo is s's answer to a POST to path that failed with err, and its
// decoded error body.
func answerTo(t *testing.T, s *server, path string, err error) (*httptest.ResponseRecorder, raapi.ErrorBody) {
	t.Helper()
	w := httptest.NewRecorder()
	s.writeError(w, httptest.NewRequest(http.MethodPost, path, nil), err)
	var body raapi.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("answer to %v: %v", path, err)
	}
	return w, body
}

// TestCAExpiredSaysWhichCertificate: an E_CA_EXPIRED answer tells the
// client which CA certificate ran out and so what its operator must do:
// a new Issuing OCA for the Issuing OCA's expiry, a new Root OCA for the
// Root's (under an expired Root a new Issuing OCA would not help, and the
// answer used to ask for one), and that there is no RA system signer when
// that is why the bundle or feed is refused.
func TestCAExpiredSaysWhichCertificate(t *testing.T) {
	t.Parallel()
	s := errorsOnly(t)
	for _, tc := range []struct {
		name      string
		err       error
		want, not string
	}{
		{"issuing", fmt.Errorf("%w: the Issuing OCA certificate expired on 2026-01-01", ca.ErrCAExpired), "new Issuing OCA", "Root"},
		{"root", ca.RootExpired(fmt.Errorf("%w: the Root OCA certificate expired on 2026-01-01", ca.ErrCAExpired)), "new Root OCA", "new Issuing OCA"},
		{"no system signer", fmt.Errorf("%w: %w", ra.ErrNoSystemSigner, ca.ErrCAExpired), "no RA system signer", "Root"},
	} {
		w, body := answerTo(t, s, "/v1/enrol", tc.err)
		if w.Code != http.StatusServiceUnavailable || body.Error.Code != "E_CA_EXPIRED" ||
			!strings.Contains(body.Error.Message, tc.want) || strings.Contains(body.Error.Message, tc.not) {
			t.Errorf("%s: %d %s %q, want 503 E_CA_EXPIRED saying %q and not %q", tc.name, w.Code, body.Error.Code, body.Error.Message, tc.want, tc.not)
		}
	}
}
