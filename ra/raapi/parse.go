package raapi

import (
	"fmt"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
)

// ParseEUI reads a required EUI-64 sent as text (a JSON field, a path or
// query value, a console form field). A missing or malformed value is
// raerr.ErrInvalidID naming what. The one reader of user-supplied IDs for
// both the API (ra/raserver) and the console.
func ParseEUI(what, s string) (eui64.ID, error) {
	if s == "" {
		return eui64.ID{}, fmt.Errorf("%w: %s is required", raerr.ErrInvalidID, what)
	}
	return OptEUI(what, s)
}

// OptEUI is ParseEUI for an optional value: "" is the zero ID.
func OptEUI(what, s string) (eui64.ID, error) {
	if s == "" {
		return eui64.ID{}, nil
	}
	id, err := eui64.Parse(s)
	if err != nil {
		return id, fmt.Errorf("%w: %s: %w", raerr.ErrInvalidID, what, err)
	}
	return id, nil
}
