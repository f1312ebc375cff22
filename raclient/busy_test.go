package raclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/ra/raerr"
)

// TestBusyRetry: an E_RA_BUSY answer (nothing written) is sent again after
// a growing wait that honours Retry-After, and the caller is told before
// each wait; another 503 is not retried; the budget ends with the busy
// answer itself; the revocation stream's busy final line is retried too.
func TestBusyRetry(t *testing.T) {
	t.Parallel()
	busy := func(w http.ResponseWriter, retryAfter string) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		var b raapi.ErrorBody
		b.Error.Code, b.Error.Message = raerr.ErrBusy.Error(), "busy"
		writeJSON(w, http.StatusServiceUnavailable, b)
	}
	tests := []struct {
		name       string
		failures   int    // busy answers before success
		retryAfter string // header on the busy answers
		code       string // answered instead of busy
		retries    int
		wantCalls  int32
		wantCode   string // "" for success
		minWait    time.Duration
	}{
		{name: "busy twice then ok", failures: 2, retries: 5, wantCalls: 3, minWait: busyBase + 2*busyBase},
		{name: "Retry-After honoured", failures: 1, retryAfter: "1", retries: 5, wantCalls: 2, minWait: time.Second},
		{name: "budget spent", failures: 10, retries: 2, wantCalls: 3, wantCode: "E_RA_BUSY"},
		{name: "retries off", failures: 1, retries: 0, wantCalls: 1, wantCode: "E_RA_BUSY"},
		{name: "signer not ready is not retried", failures: 1, code: "E_RA_SIGNER", retries: 5, wantCalls: 1, wantCode: "E_RA_SIGNER"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if int(calls.Add(1)) <= tc.failures {
					if tc.code != "" {
						var b raapi.ErrorBody
						b.Error.Code, b.Error.Message = tc.code, "not ready"
						writeJSON(w, http.StatusServiceUnavailable, b)
						return
					}
					busy(w, tc.retryAfter)
					return
				}
				writeJSON(w, http.StatusOK, raapi.Officer{ID: "me"})
			}))
			defer ts.Close()
			c := &Client{base: ts.URL, hc: ts.Client()}
			var notes []BusyRetry
			c.SetBusyRetry(tc.retries, func(b BusyRetry) { notes = append(notes, b) })
			start := time.Now()
			o, err := c.Whoami(context.Background())
			took := time.Since(start)
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d requests, want %d", got, tc.wantCalls)
			}
			if tc.wantCode != "" {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Code != tc.wantCode {
					t.Fatalf("err = %v, want %s", err, tc.wantCode)
				}
			} else if err != nil || o.ID != "me" {
				t.Fatalf("got %+v, %v", o, err)
			}
			if len(notes) != int(tc.wantCalls)-1 {
				t.Fatalf("%d notices, want one per retry (%d)", len(notes), tc.wantCalls-1)
			}
			var waited time.Duration
			for i, n := range notes {
				if n.Attempt != i+1 || n.Of != tc.retries || n.Err.Code != "E_RA_BUSY" {
					t.Errorf("notice %d = %+v", i, n)
				}
				if i > 0 && n.Wait < notes[i-1].Wait*3/2 && n.Wait < busyMax {
					t.Errorf("waits do not grow: %v then %v", notes[i-1].Wait, n.Wait)
				}
				waited += n.Wait
			}
			if took < tc.minWait || waited < tc.minWait {
				t.Errorf("waited %v (announced %v), want at least %v", took, waited, tc.minWait)
			}
		})
	}
	t.Run("revocation stream", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", raapi.MediaNDJSON)
			if calls.Add(1) == 1 {
				w.Write([]byte(`{"progress":{"done":256,"total":300}}` + "\n" + `{"error":{"code":"E_RA_BUSY","message":"busy"}}` + "\n"))
				return
			}
			w.Write([]byte(`{"result":{"reason":5}}` + "\n"))
		}))
		defer ts.Close()
		c := &Client{base: ts.URL, hc: ts.Client()}
		c.SetBusyRetry(3, nil)
		res, err := c.RevokeWithProgress(context.Background(), raapi.RevokeRequest{PartyID: eui64.MustParse("90-B3-D5-1F-30-00-00-01"), Yes: true}, nil)
		if err != nil || res.Reason != 5 || calls.Load() != 2 {
			t.Fatalf("got %+v, %v after %d requests; want the result after 2", res, err, calls.Load())
		}
	})
}

func TestBusyWait(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 12; n++ {
		want := min(busyBase<<min(n-1, 10), busyMax)
		if got := busyWait(n, 0); got < want || got > want+want/4 {
			t.Errorf("busyWait(%d) = %v, want [%v, %v]", n, got, want, want+want/4)
		}
	}
	if got := busyWait(1, 3*time.Second); got < 3*time.Second {
		t.Errorf("busyWait ignores Retry-After: %v", got)
	}
	h := http.Header{}
	for v, want := range map[string]time.Duration{"": 0, "2": 2 * time.Second, "-1": 0, "x": 0, "3600": busyMax} {
		h.Set("Retry-After", v)
		if got := retryAfter(h); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
