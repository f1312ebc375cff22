package duis

import (
	"fmt"
	"strconv"

	"github.com/smki/smki/eui64"
)

// RequestID is a DUIS RequestID: originator User ID, target (device or
// DCC) EUI-64, and the originator's counter, which the verifier requires to
// be strictly increasing per originator.
type RequestID struct {
	Originator, Target eui64.ID
	Counter            uint64
}

// ParseRequestID parses "<EUI-64>:<EUI-64>:<counter>" as DUIS schema
// RequestIDType defines it: each EUI-64 as eight hyphen-separated pairs of
// hex digits (either case), the counter a decimal in [0, 2^64-1] without
// sign or leading zeros. Anything else is ErrMalformed.
func ParseRequestID(s string) (RequestID, error) {
	var id RequestID
	if len(s) < 23+1+23+1+1 || len(s) > 23+1+23+1+20 || s[23] != ':' || s[47] != ':' {
		return id, fmt.Errorf("%w: RequestID %q is not <EUI-64>:<EUI-64>:<counter>", ErrMalformed, s)
	}
	var err error
	if id.Originator, err = parseEUI(s[:23]); err != nil {
		return id, err
	}
	if id.Target, err = parseEUI(s[24:47]); err != nil {
		return id, err
	}
	c := s[48:]
	if (len(c) > 1 && c[0] == '0') || !allDigits(c) {
		return id, fmt.Errorf("%w: RequestID counter %q is not a canonical decimal", ErrMalformed, c)
	}
	if id.Counter, err = strconv.ParseUint(c, 10, 64); err != nil {
		return id, fmt.Errorf("%w: RequestID counter %q out of range", ErrMalformed, c)
	}
	return id, nil
}

// parseEUI accepts exactly the DUIS form "90-B3-D5-1F-30-01-00-00" (hex
// digits in either case), decoding in place: it is on every request's path.
func parseEUI(s string) (eui64.ID, error) {
	var id eui64.ID
	if len(s) != 23 {
		return id, fmt.Errorf("%w: %q is not a hyphenated EUI-64", ErrMalformed, s)
	}
	for k := range id {
		i := 3 * k
		if k > 0 && s[i-1] != '-' {
			return eui64.ID{}, fmt.Errorf("%w: %q is not a hyphenated EUI-64", ErrMalformed, s)
		}
		hi, lo := unhex(s[i]), unhex(s[i+1])
		if hi > 15 || lo > 15 {
			return eui64.ID{}, fmt.Errorf("%w: %q is not a hyphenated EUI-64", ErrMalformed, s)
		}
		id[k] = hi<<4 | lo
	}
	return id, nil
}

// unhex is the value of a hex digit, or 255.
func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 255
}

// String returns the canonical form (upper-case hex), which ParseRequestID
// accepts.
func (r RequestID) String() string {
	return r.Originator.String() + ":" + r.Target.String() + ":" + strconv.FormatUint(r.Counter, 10)
}
