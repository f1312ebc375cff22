package raserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/smki/smki/internal/librarytext"
)

// checkNoLibraryText (issue 14, "no raw library text") wraps the RA API so that every error body any test of
// this package provokes is checked for library text: a refusal anywhere in
// the suite that leaks one fails the test that provoked it.
func checkNoLibraryText(t testing.TB, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &bodyTee{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status < 400 {
			return
		}
		for _, line := range bytes.Split(rec.buf.Bytes(), []byte("\n")) {
			var body struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(line, &body) != nil && json.Unmarshal(rec.buf.Bytes(), &body) != nil {
				continue
			}
			if m := librarytext.Find(body.Error.Message); m != "" {
				t.Errorf("%s %s: %d %s answers library text %q: %s", r.Method, r.URL.Path, rec.status, body.Error.Code, m, body.Error.Message)
			}
		}
	})
}

// bodyTee keeps a copy of what a handler wrote in an error answer (status
// 400 or more: only those are checked, so a success, an enrolment in a
// benchmark, is not copied; error bodies are small, the copy stops at 64
// KiB).
type bodyTee struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (b *bodyTee) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *bodyTee) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.status >= 400 && b.buf.Len() < 64<<10 {
		b.buf.Write(p)
	}
	return b.ResponseWriter.Write(p)
}

func (b *bodyTee) Unwrap() http.ResponseWriter { return b.ResponseWriter }
