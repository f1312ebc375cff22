package console

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/smki/smki/internal/errcodes"
)

// FuzzForm: whatever a browser (or anyone holding a session) posts, the
// console's form reading never panics; a form it cannot read is refused
// with a coded error in its own words (400, or 413 over maxForm); from a
// form it reads, an upload is at most its cap or a coded refusal, a time
// is UTC or a coded refusal, and the values kept to fill the form again
// never include the CSRF token.
func FuzzForm(f *testing.F) {
	const boundary = "XyZ"
	multipart := func(parts string) []byte { return []byte(parts) }
	f.Add(uint8(0), []byte("csrf=abc&text=hello&at=2026-03-14T09%3A30"))
	f.Add(uint8(0), []byte("text=%zz&at=bad"))
	f.Add(uint8(1), multipart("--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n"+
		"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csr\"\r\nContent-Type: application/octet-stream\r\n\r\n"+
		"-----BEGIN CERTIFICATE REQUEST-----\r\n--XyZ\r\nContent-Disposition: form-data; name=\"at\"\r\n\r\n2026-03-14T09:30:00Z\r\n--XyZ--\r\n"))
	f.Add(uint8(1), multipart("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n"+string(bytes.Repeat([]byte("x"), 100))+"\r\n--XyZ--\r\n"))
	f.Add(uint8(2), []byte("--XyZ\r\n"))
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/console/enrol", bytes.NewReader(body))
		switch kind % 3 {
		case 0:
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		case 1:
			r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		default:
			r.Header.Set("Content-Type", "multipart/form-data")
		}
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, maxForm)
		if fe := parseForm(r); fe != nil {
			errcodes.CodedFrom(t, errors.New(fe.Code+": "+fe.Message), body)
			if fe.status != http.StatusBadRequest && fe.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("form refused with status %d", fe.status)
			}
			return
		}
		const max = 64
		if data, err := upload(r, "file", "text", max); err != nil {
			errcodes.CodedFrom(t, err, body)
		} else if len(data) > max {
			t.Fatalf("upload gave %d bytes, over its cap of %d", len(data), max)
		}
		if at, err := parseTime(trimmed(r, "at")); err != nil {
			errcodes.CodedFrom(t, err, body)
		} else if at.Location() != time.UTC {
			t.Fatalf("time %v not in UTC", at)
		}
		if _, ok := formValues(r)["csrf"]; ok {
			t.Fatal("the CSRF token is kept to fill the form again")
		}
	})
}
