package gbcs

import (
	"encoding/binary"
	"fmt"
	"time"
)

// dlmsDateTimeLen is the size of a DLMS COSEM date-time.
const dlmsDateTimeLen = 12

// parseDateTime reads a 12-byte DLMS COSEM date-time:
//
//	year:2 month:1 day:1 weekday:1 hour:1 minute:1 second:1 hundredths:1
//	deviation:2 (signed minutes, 0x8000 = not specified) clock-status:1
//
// It returns nil (and no error) when the value is well-formed but not one
// instant: a wildcard (0xFF / 0xFFFF) or special (0xFD, 0xFE) field, or a
// deviation other than 0 or "not specified". GBCS puts UTC in these
// fields, and guessing the sign convention of a deviation would be worse
// than giving no time (the raw bytes stay in Header.RawDateTime). A field
// outside its DLMS range, or a day the month does not have, is
// ErrMalformed.
func parseDateTime(b []byte) (*time.Time, error) {
	if len(b) != dlmsDateTimeLen {
		return nil, fmt.Errorf("%w: date-time is %d bytes, want %d", ErrMalformed, len(b), dlmsDateTimeLen)
	}
	year := binary.BigEndian.Uint16(b[0:2])
	month, day, wday, hour, minute, sec, hund := b[2], b[3], b[4], b[5], b[6], b[7], b[8]
	dev := binary.BigEndian.Uint16(b[9:11])

	wild := false
	check := func(name string, v, lo, hi byte, specials ...byte) error {
		if v == 0xFF {
			wild = true
			return nil
		}
		for _, s := range specials {
			if v == s {
				wild = true
				return nil
			}
		}
		if v < lo || v > hi {
			return fmt.Errorf("%w: date-time %s %d out of range", ErrMalformed, name, v)
		}
		return nil
	}
	for _, err := range []error{
		check("month", month, 1, 12, 0xFD, 0xFE),
		check("day", day, 1, 31, 0xFD, 0xFE),
		check("hour", hour, 0, 23),
		check("minute", minute, 0, 59),
		check("second", sec, 0, 59),
	} {
		if err != nil {
			return nil, err
		}
	}
	// Weekday and hundredths do not change the instant; they only have to
	// be in range.
	if wday != 0xFF && (wday < 1 || wday > 7) {
		return nil, fmt.Errorf("%w: date-time weekday %d out of range", ErrMalformed, wday)
	}
	if hund != 0xFF && hund > 99 {
		return nil, fmt.Errorf("%w: date-time hundredths %d out of range", ErrMalformed, hund)
	}
	if dev != 0x8000 && (int16(dev) < -720 || int16(dev) > 720) {
		return nil, fmt.Errorf("%w: date-time deviation %d out of range", ErrMalformed, int16(dev))
	}
	if year == 0xFFFF || wild || (dev != 0x8000 && dev != 0) {
		return nil, nil
	}
	if hund == 0xFF {
		hund = 0
	}
	t := time.Date(int(year), time.Month(month), int(day), int(hour), int(minute), int(sec),
		int(hund)*int(10*time.Millisecond), time.UTC)
	if t.Day() != int(day) {
		return nil, fmt.Errorf("%w: date-time %04d-%02d-%02d does not exist", ErrMalformed, year, month, day)
	}
	return &t, nil
}
