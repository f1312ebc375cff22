package raerr

import (
	"errors"
	"fmt"

	"github.com/smki/smki/store"
)

// FromStore maps the store's not-found / exists onto the RA's codes, keeping
// the store error in the chain.
func FromStore(what string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return quietErr{fmt.Sprintf("%s: %s does not exist; check the ID", ErrNotFound, what), []error{ErrNotFound, err}}
	case errors.Is(err, store.ErrExists):
		// Most often the same create sent again after its answer was lost
		// (a party or User ID is the one DCC assigned: there is no other
		// to choose); say both.
		return quietErr{fmt.Sprintf("%s: %s already exists: if you sent this again after its answer was lost, the first request "+
			"made it (list it to check); otherwise choose another ID", ErrExists, what), []error{ErrExists, err}}
	}
	return fmt.Errorf("%w: %s: %w", ErrInternal, what, err)
}

// quietErr is a refusal whose message is the RA's own sentence while its
// chain still holds the store's error (for errors.Is and the code): the
// engine's text ("bolt: party ...: E_STORE_NOT_FOUND") never reaches a
// user (issue 14).
type quietErr struct {
	msg  string
	errs []error
}

func (e quietErr) Error() string { return e.msg }

func (e quietErr) Unwrap() []error { return e.errs }
