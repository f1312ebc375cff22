package gbcs

import (
	"encoding/hex"
	"fmt"
)

// ParseHex decodes GBCS hex text as DCC tools write it: hex digits in
// either case, with any ASCII whitespace (spaces, tabs, line breaks)
// anywhere between digits ignored. Anything else, or an odd number of
// digits, is ErrMalformed.
func ParseHex(s string) ([]byte, error) {
	digits := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\r', '\v', '\f':
		default:
			digits = append(digits, c)
		}
	}
	if len(digits)%2 != 0 {
		return nil, fmt.Errorf("%w: odd number of hex digits (%d)", ErrMalformed, len(digits))
	}
	out := make([]byte, len(digits)/2)
	if _, err := hex.Decode(out, digits); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return out, nil
}
