package raapi

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/store"
)

func TestStatusOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{raerr.ErrUnauthenticated, http.StatusUnauthorized},
		{fmt.Errorf("x: %w", raerr.ErrForbidden), http.StatusForbidden},
		{raerr.ErrInvalidID, http.StatusBadRequest},
		{raerr.ErrNotFound, http.StatusNotFound},
		{store.ErrNotFound, http.StatusNotFound},
		{raerr.ErrExists, http.StatusConflict},
		{raerr.ErrTooLarge, http.StatusRequestEntityTooLarge},
		{ownpki.ErrSigner, http.StatusServiceUnavailable},
		{raerr.ErrBusy, http.StatusServiceUnavailable},
		{fmt.Errorf("%w: %w", raerr.ErrInternal, store.ErrConflict), http.StatusServiceUnavailable},
		{fmt.Errorf("%w: %w", raerr.ErrInternal, store.ErrNotFound), http.StatusInternalServerError},
		{errors.New("E_RA_FORBIDDEN: a look-alike"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		if got := StatusOf(tt.err); got != tt.want {
			t.Errorf("StatusOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
		if code := raerr.CodeOf(tt.err); StatusOfCode(code) != tt.want {
			t.Errorf("StatusOfCode(%s) = %d, want %d", code, StatusOfCode(code), tt.want)
		}
	}
	for c := raerr.ClassInternal; c <= raerr.ClassBusy; c++ {
		if _, ok := statusOfClass[c]; !ok {
			t.Errorf("class %d has no status", c)
		}
	}
}
