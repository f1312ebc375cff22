// Package input holds the RA's checks of free text and IDs a request
// carries (display names, EUI-64s), shared by ra and its sub-packages so
// that each rule has one home. It decides nothing else and must not import
// ra.
package input

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
)

// CheckName: display names are free text, but bounded and printable.
// Besides C0 controls and DEL it refuses C1 controls (NEL), format
// characters (bidi overrides such as U+202E, zero-width characters) and
// line/paragraph separators: they let a name display as something else in
// a listing or an audit review (h14).
func CheckName(what, name string) error {
	if strings.TrimSpace(name) == "" || len(name) > 200 || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, func(r rune) bool {
			return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
		}) {
		return fmt.Errorf("%w: %s name must be 1-200 printable characters", raerr.ErrBadRequest, what)
	}
	return nil
}

// CheckEUI refuses a missing or all-zero EUI-64 (raerr.ErrInvalidID).
func CheckEUI(what string, id eui64.ID) error {
	if id.IsZero() {
		return fmt.Errorf("%w: %s is missing or all zero", raerr.ErrInvalidID, what)
	}
	return nil
}
