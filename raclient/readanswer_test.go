package raclient

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestReadAnswer: Content-Length only sizes the buffer; what is read is
// the body, up to maxResponse+1 bytes, whatever the header claims.
func TestReadAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		length int64
		body   int
		want   int
	}{
		{"exact", 2300, 2300, 2300},
		{"unknown", -1, 2300, 2300},
		{"claims less", 10, 5000, 5000},
		{"claims more", 1 << 20, 100, 100},
		{"claims over the limit", 1 << 40, 100, 100},
		{"over the limit", -1, maxResponse + 10, maxResponse + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{ContentLength: tc.length, Body: io.NopCloser(strings.NewReader(strings.Repeat("x", tc.body)))}
			got, err := readAnswer(resp)
			if err != nil || len(got) != tc.want {
				t.Fatalf("read %d bytes, %v; want %d", len(got), err, tc.want)
			}
		})
	}
}
