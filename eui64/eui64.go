// Package eui64 owns the EUI-64 identifier used for SMKI Entity IDs, User IDs,
// Party IDs and device IDs: parsing the forms users type, and the one canonical
// form smki prints and stores.
package eui64

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is returned (wrapped) for any string that is not an EUI-64.
var ErrInvalid = errors.New("E_EUI64_INVALID")

// ID is an EUI-64 identifier. The zero ID is valid as a value but is never a
// real User ID; callers that need one check IsZero.
type ID [8]byte

// Parse accepts 16 hex digits, optionally separated into octets by '-', ':'
// or ' ' (as DUIS writes them, "90-B3-D5-1F-30-01-00-00"), in either case.
func Parse(s string) (ID, error) {
	// The canonical form, which is every ID smki prints and stores (a
	// bundle of a million devices holds two million), and its separator
	// variants, parse without allocating; anything else takes the
	// general path below, which accepts the same and more.
	if id, ok := parseOctets(s); ok {
		return id, nil
	}
	var id ID
	clean := strings.Map(func(r rune) rune {
		switch r {
		case '-', ':', ' ':
			return -1
		}
		return r
	}, s)
	if len(clean) != 16 {
		return id, fmt.Errorf("%w: %q is not 16 hex digits", ErrInvalid, s)
	}
	// Separators, when present, must split the value into octets.
	if clean != s {
		parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == ':' || r == ' ' })
		if len(parts) != 8 {
			return id, fmt.Errorf("%w: %q is not eight octets", ErrInvalid, s)
		}
		for _, p := range parts {
			if len(p) != 2 {
				return id, fmt.Errorf("%w: %q is not eight octets", ErrInvalid, s)
			}
		}
	}
	if _, err := hex.Decode(id[:], []byte(clean)); err != nil {
		return ID{}, fmt.Errorf("%w: %q: %v", ErrInvalid, s, err)
	}
	return id, nil
}

// MustParse is Parse for constants in tests and fixtures; it panics on error.
func MustParse(s string) ID {
	id, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return id
}

// FromBytes returns the ID held in b, which must be exactly 8 bytes.
func FromBytes(b []byte) (ID, error) {
	var id ID
	if len(b) != 8 {
		return id, fmt.Errorf("%w: %d bytes, want 8", ErrInvalid, len(b))
	}
	copy(id[:], b)
	return id, nil
}

// String returns the canonical form: upper-case octets joined by '-'.
func (id ID) String() string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, 23)
	for i, c := range id {
		if i > 0 {
			b = append(b, '-')
		}
		b = append(b, digits[c>>4], digits[c&0x0f])
	}
	return string(b)
}

// Hex returns the 16 upper-case hex digits with no separators, the form DUIS
// file names and certificate file names use.
func (id ID) Hex() string { return strings.ToUpper(hex.EncodeToString(id[:])) }

// IsZero reports whether id is all zeros.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText implements encoding.TextMarshaler with the canonical form.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with Parse.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// parseOctets parses eight octets of two hex digits each, separated by
// '-', ':' or ' ' (the canonical form is 90-B3-D5-1F-30-01-00-00); ok is
// false for anything else, which Parse's general path then judges.
func parseOctets(s string) (id ID, ok bool) {
	if len(s) != 3*len(id)-1 {
		return id, false
	}
	for i := range id {
		if i > 0 {
			switch s[3*i-1] {
			case '-', ':', ' ':
			default:
				return ID{}, false
			}
		}
		hi, ok1 := hexDigit(s[3*i])
		lo, ok2 := hexDigit(s[3*i+1])
		if !ok1 || !ok2 {
			return ID{}, false
		}
		id[i] = hi<<4 | lo
	}
	return id, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
