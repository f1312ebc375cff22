package raapi

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/store"
)

func TestStatusOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{ra.ErrUnauthenticated, http.StatusUnauthorized},
		{fmt.Errorf("x: %w", ra.ErrForbidden), http.StatusForbidden},
		{ra.ErrInvalidID, http.StatusBadRequest},
		{ra.ErrNotFound, http.StatusNotFound},
		{store.ErrNotFound, http.StatusNotFound},
		{ra.ErrExists, http.StatusConflict},
		{ra.ErrTooLarge, http.StatusRequestEntityTooLarge},
		{ownpki.ErrSigner, http.StatusServiceUnavailable},
		{ra.ErrBusy, http.StatusServiceUnavailable},
		{fmt.Errorf("%w: %w", ra.ErrInternal, store.ErrConflict), http.StatusServiceUnavailable},
		{fmt.Errorf("%w: %w", ra.ErrInternal, store.ErrNotFound), http.StatusInternalServerError},
		{errors.New("E_RA_FORBIDDEN: a look-alike"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		if got := StatusOf(tt.err); got != tt.want {
			t.Errorf("StatusOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
		if code := ra.CodeOf(tt.err); StatusOfCode(code) != tt.want {
			t.Errorf("StatusOfCode(%s) = %d, want %d", code, StatusOfCode(code), tt.want)
		}
	}
	for c := ra.ClassInternal; c <= ra.ClassBusy; c++ {
		if _, ok := statusOfClass[c]; !ok {
			t.Errorf("class %d has no status", c)
		}
	}
}
