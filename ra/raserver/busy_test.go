package raserver

import (
	"fmt"
	"strings"
	"testing"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/store"
)

// TestBusyAnswer: contention that outlasted the store's retries is 503
// E_RA_BUSY with Retry-After and a sentence saying nothing was written,
// however it was wrapped (as internal too); a store closed under the call
// is 503 E_STORE_CLOSED with Retry-After, however wrapped; an internal
// error stays 500 without Retry-After.
func TestBusyAnswer(t *testing.T) {
	t.Parallel()
	s := errorsOnly(t)
	conflict := fmt.Errorf("postgres: gave up after 30 retries: %w: could not serialize access", store.ErrConflict)
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{"store conflict", conflict, 503, "E_RA_BUSY", "1"},
		{"conflict wrapped as internal", fmt.Errorf("%w: revoking the failed Supplier: %w", ra.ErrInternal, conflict), 503, "E_RA_BUSY", "1"},
		{"internal", fmt.Errorf("%w: boom", ra.ErrInternal), 500, "E_RA_INTERNAL", ""},
		// The store closed under the call (the server shutting down): no
		// fault of the RA's, and the request may be sent again.
		{"store closed wrapped as internal", fmt.Errorf("%w: device 01: %w", ra.ErrInternal, fmt.Errorf("bolt: %w", store.ErrClosed)), 503, "E_STORE_CLOSED", "1"},
	}
	for _, tt := range tests {
		w, body := answerTo(t, s, "/v1/revoke", tt.err)
		if w.Code != tt.status || body.Error.Code != tt.code || w.Header().Get("Retry-After") != tt.retryAfter {
			t.Errorf("%s: %d %s Retry-After %q, want %d %s %q", tt.name, w.Code, body.Error.Code, w.Header().Get("Retry-After"),
				tt.status, tt.code, tt.retryAfter)
		}
		if strings.Contains(body.Error.Message, "serialize") {
			t.Errorf("%s: the store's text reached the caller: %s", tt.name, body.Error.Message)
		}
		if tt.code == "E_STORE_CLOSED" && !strings.Contains(body.Error.Message, "shutting down") {
			t.Errorf("%s: message does not say what happened: %s", tt.name, body.Error.Message)
		}
		if tt.code == "E_RA_BUSY" && !strings.Contains(body.Error.Message, "nothing was written") {
			t.Errorf("%s: message does not say what to do: %s", tt.name, body.Error.Message)
		}
	}
}
