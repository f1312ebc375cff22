package raapi

import (
	"net/http"

	"github.com/smki/smki/ra"
)

// statusOfClass is the HTTP status of each class of RA error.
var statusOfClass = map[ra.Class]int{
	ra.ClassInternal:        http.StatusInternalServerError,
	ra.ClassUnauthenticated: http.StatusUnauthorized,
	ra.ClassForbidden:       http.StatusForbidden,
	ra.ClassInvalid:         http.StatusBadRequest,
	ra.ClassNotFound:        http.StatusNotFound,
	ra.ClassConflict:        http.StatusConflict,
	ra.ClassTooLarge:        http.StatusRequestEntityTooLarge,
	ra.ClassUnavailable:     http.StatusServiceUnavailable,
	ra.ClassBusy:            http.StatusServiceUnavailable,
}

// RetryAfterBusy is the Retry-After the API sends with E_RA_BUSY: the
// store already retried for about this long, so the same request is
// likely to succeed once the burst that defeated it has passed.
const RetryAfterBusy = 1 // seconds

// StatusOf returns the HTTP status for err: that of its class (ra.ClassOf),
// 500 for an error the RA does not know.
func StatusOf(err error) int { return StatusOfClass(ra.ClassOf(err)) }

// StatusOfCode returns the HTTP status the API gives the error with this
// stable code (for a code that came over the wire), 500 for an unknown one.
func StatusOfCode(code string) int { return StatusOfClass(ra.ClassOfCode(code)) }

// StatusOfClass returns the HTTP status of class c (500 for an unknown one).
func StatusOfClass(c ra.Class) int {
	if s, ok := statusOfClass[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}
