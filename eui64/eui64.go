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
