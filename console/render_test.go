package console

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPageThatCannotBeShown: a page whose template fails (a programming
// error) answers 500 with E_RA_INTERNAL, a sentence and what to do, and
// the server log says which page and why. Before, it answered net/http's
// bare "internal error" and logged nothing.
func TestPageThatCannotBeShown(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	p := mustPages(nil, slog.New(slog.NewTextHandler(&logged, nil)))
	for _, c := range []struct{ name, page string }{{"data of the wrong kind", "certificate.html"}, {"no such template", "nowhere.html"}} {
		logged.Reset()
		w := httptest.NewRecorder()
		p.render(w, http.StatusOK, c.page, &view{Title: "x", Data: 42})
		body := w.Body.String()
		if w.Code != http.StatusInternalServerError || !strings.Contains(body, "E_RA_INTERNAL") || !strings.Contains(body, "RA operators") {
			t.Errorf("%s: %d %q, want 500 with E_RA_INTERNAL and what to do", c.name, w.Code, body)
		}
		if !strings.Contains(logged.String(), c.page) {
			t.Errorf("%s: the log %q does not name the page", c.name, logged.String())
		}
	}
}
