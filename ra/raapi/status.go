package raapi

import (
	"net/http"

	"github.com/smki/smki/ra/raerr"
)

// statusOfClass is the HTTP status of each class of RA error.
var statusOfClass = map[raerr.Class]int{
	raerr.ClassInternal:        http.StatusInternalServerError,
	raerr.ClassUnauthenticated: http.StatusUnauthorized,
	raerr.ClassForbidden:       http.StatusForbidden,
	raerr.ClassInvalid:         http.StatusBadRequest,
	raerr.ClassNotFound:        http.StatusNotFound,
	raerr.ClassConflict:        http.StatusConflict,
	raerr.ClassTooLarge:        http.StatusRequestEntityTooLarge,
	raerr.ClassUnavailable:     http.StatusServiceUnavailable,
	raerr.ClassBusy:            http.StatusServiceUnavailable,
}

// RetryAfterBusy is the Retry-After the API sends with E_RA_BUSY: the
// store already retried for about this long, so the same request is
// likely to succeed once the burst that defeated it has passed.
const RetryAfterBusy = 1 // seconds

// StatusOf returns the HTTP status for err: that of its class (raerr.ClassOf),
// 500 for an error the RA does not know.
func StatusOf(err error) int { return StatusOfClass(raerr.ClassOf(err)) }

// StatusOfCode returns the HTTP status the API gives the error with this
// stable code (for a code that came over the wire), 500 for an unknown one.
func StatusOfCode(code string) int { return StatusOfClass(raerr.ClassOfCode(code)) }

// StatusOfClass returns the HTTP status of class c (500 for an unknown one).
func StatusOfClass(c raerr.Class) int {
	if s, ok := statusOfClass[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}
