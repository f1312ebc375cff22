package raserver

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestWriteJSONLength: writeJSON's answer carries its Content-Length and
// the same indented JSON as before, large or small, with pooled buffers
// reused between answers.
func TestWriteJSONLength(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"small", map[string]string{"a": "b"}, "{\n  \"a\": \"b\"\n}\n"},
		{"over 2 KiB", map[string]string{"pem": strings.Repeat("x", 3000)}, "{\n  \"pem\": \"" + strings.Repeat("x", 3000) + "\"\n}\n"},
		{"small again", []int{1}, "[\n  1\n]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			writeJSON(w, 201, tc.v)
			if w.Code != 201 || w.Body.String() != tc.want {
				t.Fatalf("%d %q, want 201 %q", w.Code, w.Body.String(), tc.want)
			}
			if got := w.Header().Get("Content-Length"); got != strconv.Itoa(len(tc.want)) {
				t.Fatalf("Content-Length %q, want %d", got, len(tc.want))
			}
		})
	}
}
