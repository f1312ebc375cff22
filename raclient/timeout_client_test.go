package raclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raapi"
)

// TestStreamedAnswersAndTimeout: the client's timeout (SetTimeout, http.Client.Timeout) bounds
// a streamed answer's waits for more, not its whole length: a backup or a
// revocation that keeps arriving for longer than the timeout completes,
// and a backup that stops arriving is cut after about the timeout with
// E_RA_UNREACHABLE (before, a stalled backup waited for ever).
func TestStreamedAnswersAndTimeout(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	const chunks, every = 8, 300 * time.Millisecond // 2.4s in all, a chunk each 0.3s
	backup := func(stall bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !stall {
				w.Header().Set("Content-Length", fmt.Sprint(chunks*1024))
			}
			for i := range chunks {
				w.Write(bytes.Repeat([]byte{byte(i)}, 1024))
				w.(http.Flusher).Flush()
				if stall && i == 1 {
					<-r.Context().Done()
					return
				}
				time.Sleep(every)
			}
		}
	}
	revoke := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", raapi.MediaNDJSON)
		for i := range chunks {
			fmt.Fprintf(w, `{"progress":{"done":%d,"total":%d}}`+"\n", i, chunks)
			w.(http.Flusher).Flush()
			time.Sleep(every)
		}
		io.WriteString(w, `{"result":{"reason":5}}`+"\n")
	}
	for _, tc := range []struct {
		name    string
		h       http.HandlerFunc
		call    func(*Client) error
		wantErr error // nil: success
	}{
		{"backup that keeps arriving", backup(false), func(c *Client) error {
			n, err := c.BackupStore(context.Background(), io.Discard)
			if err == nil && n != chunks*1024 {
				return fmt.Errorf("%d bytes, want %d", n, chunks*1024)
			}
			return err
		}, nil},
		{"revocation that keeps reporting", revoke, func(c *Client) error {
			_, err := c.RevokeWithProgress(context.Background(), raapi.RevokeRequest{PartyID: eui64.MustParse("90-B3-D5-1F-30-00-00-01"), Yes: true}, nil)
			return err
		}, nil},
		{"backup that stalls", backup(true), func(c *Client) error {
			_, err := c.BackupStore(context.Background(), io.Discard)
			return err
		}, ErrUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := httptest.NewTLSServer(tc.h)
			defer ts.Close()
			defer ts.CloseClientConnections()
			hc := ts.Client()
			hc.Timeout = timeout
			c := &Client{base: ts.URL, hc: hc}
			var err error
			done := make(chan error, 1)
			start := time.Now()
			go func() { done <- tc.call(c) }()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("no return after 20s with a %s timeout", timeout)
			}
			took := time.Since(start)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("after %s: %v", took, err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("after %s: %v, want %v", took, err, tc.wantErr)
			case tc.wantErr != nil && !strings.Contains(err.Error(), "no answer from the RA"):
				t.Fatalf("error %q does not say the RA stopped answering", err)
			}
		})
	}
}
