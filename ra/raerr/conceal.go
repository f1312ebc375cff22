package raerr

import "errors"

// Conceal returns shown, the answer a caller gets (its text and its code),
// carrying real, the refusal that really happened, for the RA's own audit
// record and log only (Real). Only shown is in the chain errors.Is and
// CodeOf read, so nothing of real reaches the caller. authz.Hidden makes
// these: a party officer's "not found" for another party's record.
func Conceal(shown, real error) error { return &concealed{shown: shown, real: real} }

// Real returns the refusal err conceals (Conceal), or nil if it conceals
// none.
func Real(err error) error {
	var c *concealed
	if errors.As(err, &c) {
		return c.real
	}
	return nil
}

type concealed struct{ shown, real error }

func (c *concealed) Error() string { return c.shown.Error() }
func (c *concealed) Unwrap() error { return c.shown }
