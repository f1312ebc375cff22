package raserver

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadBodyHint: readBody reads the whole body whatever the
// Content-Length says (none, the truth, too little, far too much), and
// the body's limit still refuses an oversized body with
// *http.MaxBytesError, however small the length it claimed.
func TestReadBodyHint(t *testing.T) {
	body := strings.Repeat("x", 3000)
	for _, tc := range []struct {
		name   string
		length int64
		limit  int64
		want   string
		tooBig bool
	}{
		{"no length", -1, 8 << 10, body, false},
		{"exact", int64(len(body)), 8 << 10, body, false},
		{"claims less", 10, 8 << 10, body, false},
		{"claims 1 GiB", 1 << 30, 8 << 10, body, false},
		{"over the limit, claims little", 10, 1 << 10, "", true},
		{"empty", 0, 8 << 10, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := body
			if tc.name == "empty" {
				b = ""
			}
			r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(strings.NewReader(b)))
			r.ContentLength = tc.length
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, tc.limit)
			got, err := readBody(r)
			var mbe *http.MaxBytesError
			if tc.tooBig {
				if !errors.As(err, &mbe) {
					t.Fatalf("err %v, want *http.MaxBytesError", err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("%d bytes, %v; want %d bytes", len(got), err, len(tc.want))
			}
			if tc.length >= 1<<30 && cap(got) > 2*maxBodyHint {
				t.Fatalf("capacity %d: a claimed length allocated past maxBodyHint", cap(got))
			}
		})
	}
}
