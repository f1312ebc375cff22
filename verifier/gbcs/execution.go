package gbcs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
)

// ExecutionTime returns when the to-Credit command in payload (a GBCS
// message that ToCredit accepts) takes effect on the device: nil for at
// once, else the instant it names. A future-dated command executes later
// without passing a verifier again, so whoever authorised it must still
// hold that authority then (SoLR events end).
//
//   - ECS02: the value set for Account attribute 13
//     (account_activation_time), a 12-byte COSEM date-time; absent, or all
//     date and time fields zero (what the DCC sends for "immediate"), is nil.
//   - GCS02: the Change Payment Mode Implementation Date/Time, a ZigBee
//     UTCTime (seconds since 2000-01-01 UTC, little-endian); 0 is nil.
//
// A cancellation (the DCC's "cancel the pending change": an activation
// date-time of all wildcards, a UTCTime of 0xFFFFFFFF) changes no payment
// mode and is ErrCancellation. Any other instant it cannot pin down (a
// wildcard or deviation in the date-time, data it cannot walk) is an error
// wrapping ErrContent or ErrMalformed: the caller cannot tell when the
// command runs, so it must refuse it.
func ExecutionTime(payload []byte) (*time.Time, error) {
	uc, ok, err := ToCredit(payload)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: use case %s", ErrNotCredit, uc)
	}
	h, err := ParseHeader(payload)
	if err != nil {
		return nil, err
	}
	switch h.UseCase {
	case ECS02:
		return dlmsActivationTime(h.Content)
	default: // GCS02: ToCredit allows no other
		return gbzImplementationTime(h.Content)
	}
}

// dlmsActivationTime walks an ECS02 access-request that checkDLMSCredit
// accepted and returns the account_activation_time it sets, if any.
func dlmsActivationTime(c []byte) (*time.Time, error) {
	r := &reader{b: c}
	if _, err := r.take(5, "DLMS access-request header"); err != nil { // tag, long-invoke-id
		return nil, err
	}
	if _, err := r.lv("DLMS date-time"); err != nil {
		return nil, err
	}
	n, err := r.length("DLMS request specification count")
	if err != nil {
		return nil, err
	}
	at := -1
	for i := 0; i < n; i++ {
		spec, err := r.take(10, "DLMS request specification")
		if err != nil {
			return nil, err
		}
		if spec[9] == attrActivationTime {
			if at >= 0 {
				return nil, contentErr("account_activation_time set twice")
			}
			at = i
		}
	}
	if _, err := r.length("DLMS data count"); err != nil {
		return nil, err
	}
	if at < 0 {
		return nil, nil
	}
	for i := 0; i < at; i++ {
		if err := skipDLMSData(r, 0); err != nil {
			return nil, err
		}
	}
	if err := r.expect(dlmsOctetString, "account_activation_time tag"); err != nil {
		return nil, contentErr("account_activation_time is not an octet-string: %v", err)
	}
	b, err := r.lv("account_activation_time")
	if err != nil {
		return nil, err
	}
	if len(b) != dlmsDateTimeLen {
		return nil, contentErr("account_activation_time is %d bytes, want %d", len(b), dlmsDateTimeLen)
	}
	if immediateDateTime(b) {
		return nil, nil
	}
	if bytes.Equal(b[:9], cancelDateTime) {
		return nil, fmt.Errorf("%w: account_activation_time is all wildcards", ErrCancellation)
	}
	t, err := parseDateTime(b)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, contentErr("account_activation_time % X is not one instant", b)
	}
	return t, nil
}

// cancelDateTime is the date and time part of the activation time the DCC
// sends to cancel a pending future-dated change: every field a wildcard.
var cancelDateTime = bytes.Repeat([]byte{0xFF}, 9)

// immediateDateTime reports a COSEM date-time whose date and time fields
// are all zero: not a date at all, the DCC's "no activation time".
func immediateDateTime(b []byte) bool {
	for _, v := range b[:9] {
		if v != 0 {
			return false
		}
	}
	return true
}

// dlmsFixedSize is the value size of each fixed-length DLMS data type.
var dlmsFixedSize = map[byte]int{
	0x00: 0,  // null-data
	0x03: 1,  // boolean
	0x05: 4,  // double-long
	0x06: 4,  // double-long-unsigned
	0x0D: 1,  // bcd
	0x0F: 1,  // integer
	0x10: 2,  // long
	0x11: 1,  // unsigned
	0x12: 2,  // long-unsigned
	0x14: 8,  // long64
	0x15: 8,  // long64-unsigned
	0x16: 1,  // enum
	0x17: 4,  // float32
	0x18: 8,  // float64
	0x19: 12, // date-time
	0x1A: 5,  // date
	0x1B: 4,  // time
}

// maxDLMSDepth bounds nesting when walking DLMS data.
const maxDLMSDepth = 8

// skipDLMSData steps over one A-XDR encoded DLMS Data value.
func skipDLMSData(r *reader, depth int) error {
	if depth > maxDLMSDepth {
		return fmt.Errorf("%w: DLMS data nested deeper than %d", ErrMalformed, maxDLMSDepth)
	}
	tag, err := r.u8("DLMS data tag")
	if err != nil {
		return err
	}
	if n, ok := dlmsFixedSize[tag]; ok {
		_, err := r.take(n, "DLMS data value")
		return err
	}
	switch tag {
	case 0x01, 0x02: // array, structure
		n, err := r.length("DLMS array or structure count")
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := skipDLMSData(r, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 0x09, 0x0A, 0x0C: // octet-string, visible-string, utf8-string
		_, err := r.lv("DLMS string")
		return err
	case 0x04: // bit-string: length in bits
		bits, err := r.length("DLMS bit-string length")
		if err != nil {
			return err
		}
		_, err = r.take((bits+7)/8, "DLMS bit-string")
		return err
	}
	return fmt.Errorf("%w: DLMS data type 0x%02X not supported here", ErrContent, tag)
}

// gbzImplementationTime reads the Implementation Date/Time of a GCS02
// Change Payment Mode that checkGBZCredit accepted.
func gbzImplementationTime(c []byte) (*time.Time, error) {
	const zclStart = 8 + 3 // GBZ header, ZCL header
	if len(c) != zclStart+changePaymentModeLen {
		return nil, contentErr("Change Payment Mode is %d bytes", len(c)-zclStart)
	}
	secs := binary.LittleEndian.Uint32(c[zclStart+8 : zclStart+12])
	switch secs {
	case 0:
		return nil, nil
	case 0xFFFFFFFF:
		return nil, fmt.Errorf("%w: Implementation Date/Time 0xFFFFFFFF", ErrCancellation)
	}
	t := zigbeeEpoch.Add(time.Duration(secs) * time.Second)
	return &t, nil
}

// zigbeeEpoch is where ZigBee UTCTime counts from.
var zigbeeEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
