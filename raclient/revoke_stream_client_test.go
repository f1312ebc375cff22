package raclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/ra/raerr"
)

// TestRevokeWithProgressClient runs the client against canned answers.
func TestRevokeWithProgressClient(t *testing.T) {
	t.Parallel()
	result := raapi.RevokeResult{Reason: 5, Certificates: []raapi.CertInfo{{Serial: "0a", PartyID: "90-B3-D5-1F-30-00-00-01"}}}
	resultJSON, _ := json.Marshal(result)
	stream := func(lines ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.Header.Get("Accept"), raapi.MediaNDJSON) {
				http.Error(w, "no Accept", http.StatusNotAcceptable)
				return
			}
			w.Header().Set("Content-Type", raapi.MediaNDJSON)
			for _, l := range lines {
				io.WriteString(w, l+"\n")
				w.(http.Flusher).Flush()
			}
		}
	}
	tests := []struct {
		name     string
		h        http.HandlerFunc
		progress []raapi.RevokeProgress
		want     raapi.RevokeResult
		code     string // error code, "" for success
		status   int
		is       error // an error the result must wrap
	}{
		{name: "stream", h: stream(`{"progress":{"done":256,"total":300}}`, ``, `{"progress":{"done":300,"total":300}}`, `{"result":`+string(resultJSON)+`}`),
			progress: []raapi.RevokeProgress{{Done: 256, Total: 300}, {Done: 300, Total: 300}}, want: result},
		{name: "plain JSON", h: func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, result) }, want: result},
		{name: "plain error", h: func(w http.ResponseWriter, _ *http.Request) {
			var b raapi.ErrorBody
			b.Error.Code, b.Error.Message = raerr.ErrForbidden.Error(), "not yours"
			writeJSON(w, http.StatusForbidden, b)
		}, code: "E_RA_FORBIDDEN", status: http.StatusForbidden, is: raerr.ErrForbidden},
		{name: "streamed error", h: stream(`{"progress":{"done":256,"total":300}}`, `{"error":{"code":"E_RA_ALREADY_REVOKED","message":"0a"}}`),
			progress: []raapi.RevokeProgress{{Done: 256, Total: 300}}, code: "E_RA_ALREADY_REVOKED", status: http.StatusConflict, is: raerr.ErrAlreadyRevoked},
		{name: "truncated", h: stream(`{"progress":{"done":256,"total":300}}`),
			progress: []raapi.RevokeProgress{{Done: 256, Total: 300}}, code: "E_RA_INTERNAL", is: io.ErrUnexpectedEOF},
		{name: "cut mid-line", h: stream(`{"progress":{"done":256,"total":300}}`, `{"result":{"dry_r`),
			progress: []raapi.RevokeProgress{{Done: 256, Total: 300}}, code: "E_RA_INTERNAL"},
		{name: "empty stream", h: stream(), code: "E_RA_INTERNAL", is: io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := httptest.NewTLSServer(tc.h)
			defer ts.Close()
			c := &Client{base: ts.URL, hc: ts.Client()}
			var seen []raapi.RevokeProgress
			res, err := c.RevokeWithProgress(context.Background(), raapi.RevokeRequest{PartyID: eui64.MustParse("90-B3-D5-1F-30-00-00-01"), Yes: true},
				func(done, total int) { seen = append(seen, raapi.RevokeProgress{Done: done, Total: total}) })
			if !slices.Equal(seen, tc.progress) {
				t.Errorf("progress %v, want %v", seen, tc.progress)
			}
			if tc.code == "" {
				if err != nil || !reflect.DeepEqual(res, tc.want) {
					t.Fatalf("got %+v, %v; want %+v", res, err, tc.want)
				}
				// Without a progress callback (smki revoke off a terminal).
				if quiet, err := c.RevokeWithProgress(context.Background(), raapi.RevokeRequest{PartyID: eui64.MustParse("90-B3-D5-1F-30-00-00-01"), Yes: true}, nil); err != nil || !reflect.DeepEqual(quiet, tc.want) {
					t.Fatalf("without callback: %+v, %v", quiet, err)
				}
				// The same answer as the plain call, as far as the plain call gets one.
				if plain, err := c.Revoke(context.Background(), raapi.RevokeRequest{PartyID: eui64.MustParse("90-B3-D5-1F-30-00-00-01"), Yes: true}); err == nil && !reflect.DeepEqual(plain, res) {
					t.Fatalf("plain %+v, streamed %+v", plain, res)
				}
				return
			}
			if raerr.CodeOf(err) != tc.code || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("error %v (code %s), want code %s wrapping %v", err, raerr.CodeOf(err), tc.code, tc.is)
			}
			var ae *APIError
			if tc.status != 0 && (!errors.As(err, &ae) || ae.Status != tc.status) {
				t.Fatalf("error %#v, want status %d", err, tc.status)
			}
			if tc.code == "E_RA_INTERNAL" && !strings.Contains(err.Error(), "outcome is unknown") {
				t.Fatalf("a broken stream must say the outcome is unknown: %v", err)
			}
		})
	}
}

// A stream that stops sending is cut by the client's timeout, which here
// bounds the wait for each line, and the error says so.
func TestRevokeWithProgressIdle(t *testing.T) {
	t.Parallel()
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", raapi.MediaNDJSON)
		io.WriteString(w, `{"progress":{"done":256,"total":300}}`+"\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer ts.Close()
	hc := ts.Client()
	// The idle bound also covers the TLS handshake and the first line: on a
	// loaded 2-core CI machine 50 ms was not enough for them (0 progress calls).
	hc.Timeout = time.Second
	c := &Client{base: ts.URL, hc: hc}
	calls := 0
	_, err := c.RevokeWithProgress(context.Background(), raapi.RevokeRequest{PartyID: eui64.MustParse("90-B3-D5-1F-30-00-00-01"), Yes: true},
		func(int, int) { calls++ })
	if !errors.Is(err, raerr.ErrInternal) || !strings.Contains(err.Error(), "no answer from the RA") || calls != 1 {
		t.Fatalf("idle stream: %v (%d progress calls)", err, calls)
	}
}

func TestReadRevokeStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		progress int // progress lines reported
		err      error
	}{
		{"result", "{\"progress\":{\"done\":1,\"total\":2}}\n{\"result\":{\"reason\":1}}\n", 1, nil},
		{"no trailing newline", `{"result":{"reason":1}}`, 0, nil},
		{"unknown kind skipped", "{\"heartbeat\":{}}\n\n{\"result\":{\"reason\":1}}\n", 0, nil},
		{"stops at the result", "{\"result\":{\"reason\":1}}\nnot JSON\n", 0, nil},
		{"error", `{"error":{"code":"E_RA_NOT_FOUND","message":"gone"}}`, 0, raerr.ErrNotFound},
		{"error without code", `{"error":{"message":"?"}}`, 0, errAny},
		{"truncated", "{\"progress\":{\"done\":1,\"total\":2}}\n", 1, io.ErrUnexpectedEOF},
		{"empty", "", 0, io.ErrUnexpectedEOF},
		{"not JSON", "<html>\n", 0, errAny},
		{"line too long", `{"progress":{"done":1,"total":2},"pad":"` + strings.Repeat("x", 100) + `"}`, 0, bufio.ErrTooLong},
	}
	for _, tc := range tests {
		n := 0
		res, err := readRevokeStream(strings.NewReader(tc.in), 64, func(raapi.RevokeProgress) { n++ })
		switch {
		case tc.err == nil && (err != nil || res.Reason != 1):
			t.Errorf("%s: %+v %v", tc.name, res, err)
		case tc.err == errAny && err == nil, tc.err != nil && tc.err != errAny && !errors.Is(err, tc.err):
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.err)
		}
		if n != tc.progress {
			t.Errorf("%s: %d progress lines, want %d", tc.name, n, tc.progress)
		}
	}
}

// errAny marks a test case that wants some error.
var errAny = errors.New("any error")

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
