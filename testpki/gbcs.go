package testpki

import (
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/ecdsaraw"
)

// GBCSUseCase is an SR 1.6 (Update Payment Mode) GBCS use case GBCSCommand
// builds.
type GBCSUseCase string

// The SR 1.6 use cases: to Credit and to Prepayment, for an ESME
// (electricity, DLMS COSEM payload) and a GSME (gas, GBZ/ZCL payload).
const (
	ECS02 GBCSUseCase = "ECS02" // ESME to Credit
	ECS03 GBCSUseCase = "ECS03" // ESME to Prepayment
	GCS02 GBCSUseCase = "GCS02" // GSME to Credit
	GCS03 GBCSUseCase = "GCS03" // GSME to Prepayment
)

// GBCS Message Codes (GBCS Table 13.3.4) of the use cases.
var gbcsMessageCodes = map[GBCSUseCase]uint16{ECS02: 0x001A, ECS03: 0x001B, GCS02: 0x006C, GCS03: 0x006D}

// GBCSCommand is the GBCS command of an SR 1.6 Command Variant 5 request
// (Request.GBCSPayload): the Pre-Command the DCC returns for Command
// Variant 4, signed by the Supplier, as DUIS carries it in a
// SignedPreCommand.
//
// It is written here from the GBCS frame layout (the General Signing
// frame, tag 0xDF, as package verifier/gbcs documents it), not taken from
// DCC's test vectors, so that the verifier's reader and this writer check
// each other: its test reads every use case back with verifier/gbcs.
type GBCSCommand struct {
	UseCase GBCSUseCase
	// Originator is the Supplier's User ID: the system title of the
	// Supplier whose Digital Signing key signs (Sign) and which the device
	// trusts. Recipient is the device.
	Originator, Recipient eui64.ID
	// Counter is the originator's transaction counter (testpki uses the
	// DUIS RequestID's).
	Counter uint64
	// ExecuteAt, if not zero, is when the change takes effect on the
	// device (a future-dated command), whole seconds: the ESME's
	// account_activation_time, the GSME's Implementation Date/Time. Zero
	// is at once.
	ExecuteAt time.Time
}

// Sign builds c and signs it with key, the originator's Digital Signing
// key (ECDSA P-256, SHA-256, raw r||s), returning the Signed Pre-Command:
//
//	DF 09 01 <counter:8>                 General Signing: CRA flag 1 (command)
//	08 <originator:8> 08 <recipient:8>
//	00                                   no date-time
//	02 <message code:2>                  other-information
//	<len> <content>                      DLMS COSEM (ECS) or GBZ (GCS)
//	40 <r||s:64>                         the signature over what follows DF, up to the content's end
//
// ECS02/ECS03 content is a DLMS access-request of two sets on the Account
// object (0-1:19.0.0.255, class 111): attribute 2 (account_mode_and_status,
// payment_mode 1 credit or 2 prepayment) then attribute 13
// (account_activation_time, all zero for at once). GCS02/GCS03 content is
// one GBZ component, ZCL Prepayment cluster Change Payment Mode, whose
// Proposed Payment Control Configuration has the Prepayment Enabled bit
// clear (credit) or set, with the Implementation Date/Time (0: at once).
// Any field it cannot write is an error wrapping ErrRequest.
func (c GBCSCommand) Sign(key crypto.Signer) ([]byte, error) {
	code, ok := gbcsMessageCodes[c.UseCase]
	if !ok {
		return nil, fmt.Errorf("%w: GBCS use case %q is not one of SR 1.6", ErrRequest, c.UseCase)
	}
	if c.Originator.IsZero() || c.Recipient.IsZero() {
		return nil, fmt.Errorf("%w: a GBCS command needs an originator and a recipient", ErrRequest)
	}
	if !c.ExecuteAt.IsZero() && c.ExecuteAt.Nanosecond() != 0 {
		return nil, fmt.Errorf("%w: GBCS execution time %s is not whole seconds", ErrRequest, c.ExecuteAt)
	}
	var content []byte
	var err error
	switch c.UseCase {
	case ECS02, ECS03:
		content = c.dlmsContent(c.UseCase == ECS02)
	default:
		content, err = c.gbzContent(c.UseCase == GCS02)
	}
	if err != nil {
		return nil, err
	}
	frame := []byte{0xDF, 9, 1}
	frame = binary.BigEndian.AppendUint64(frame, c.Counter)
	frame = append(frame, 8)
	frame = append(frame, c.Originator[:]...)
	frame = append(frame, 8)
	frame = append(frame, c.Recipient[:]...)
	frame = append(frame, 0, 2, byte(code>>8), byte(code))
	frame = appendLV(frame, content)
	digest := sha256.Sum256(frame[1:])
	sig, err := ecdsaraw.SignSHA256(key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("testpki: signing the GBCS command: %w", err)
	}
	frame = append(frame, ecdsaraw.Size)
	return append(frame, sig...), nil
}

// appendLV appends a DLMS (A-XDR/BER) length and v.
func appendLV(b, v []byte) []byte {
	switch n := len(v); {
	case n < 0x80:
		b = append(b, byte(n))
	case n <= 0xFF:
		b = append(b, 0x81, byte(n))
	default:
		b = append(b, 0x82, byte(n>>8), byte(n))
	}
	return append(b, v...)
}

// dlmsContent is the ECS02 (credit) or ECS03 access-request.
func (c GBCSCommand) dlmsContent(credit bool) []byte {
	const (
		accessRequest = 0xD9
		set           = 0x02
		structure     = 0x02
		enum          = 0x16
		octetString   = 0x09
	)
	account := []byte{0x00, 0x6F, 0x00, 0x01, 0x13, 0x00, 0x00, 0xFF} // class 111, 0-1:19.0.0.255
	mode := byte(2)                                                   // prepayment
	if credit {
		mode = 1
	}
	b := []byte{accessRequest}
	b = binary.BigEndian.AppendUint32(b, uint32(c.Counter)) // long-invoke-id
	b = append(b, 0)                                        // no date-time
	b = append(b, 2)                                        // two request specifications
	b = append(append(append(b, set), account...), 2)       // account_mode_and_status
	b = append(append(append(b, set), account...), 13)      // account_activation_time
	b = append(b, 2)                                        // two data items
	b = append(b, structure, 2, enum, mode, enum, 1)        // payment_mode, account_status
	b = append(b, octetString, 12)
	return append(b, cosemDateTime(c.ExecuteAt)...)
}

// cosemDateTime is t as a 12-byte COSEM date-time in UTC (deviation 0),
// or, for the zero time, all date and time fields zero: at once.
func cosemDateTime(t time.Time) []byte {
	if t.IsZero() {
		return []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x00, 0xFF}
	}
	t = t.UTC()
	wd := byte(t.Weekday()) // COSEM: 1 Monday .. 7 Sunday
	if wd == 0 {
		wd = 7
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(t.Year()))
	return append(b, byte(t.Month()), byte(t.Day()), wd, byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0, 0, 0, 0)
}

// zigbeeEpoch is where ZigBee UTCTime counts seconds from.
var zigbeeEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// gbzContent is the GCS02 (credit) or GCS03 GBZ payload.
func (c GBCSCommand) gbzContent(credit bool) ([]byte, error) {
	var at uint32
	if !c.ExecuteAt.IsZero() {
		secs := c.ExecuteAt.Sub(zigbeeEpoch) / time.Second
		if secs <= 0 || secs >= 0xFFFFFFFF {
			return nil, fmt.Errorf("%w: GBCS execution time %s is outside ZigBee UTCTime", ErrRequest, c.ExecuteAt)
		}
		at = uint32(secs)
	}
	cfg := uint16(1 << 1) // Prepayment Enabled
	if credit {
		cfg = 0
	}
	// ZCL (little-endian): frame control (cluster-specific, client to
	// server, no default response), sequence number, Change Payment Mode;
	// provider ID, issuer event ID, Implementation Date/Time, Proposed
	// Payment Control Configuration, cut off value.
	zcl := []byte{0x11, byte(c.Counter), 0x06}
	zcl = binary.LittleEndian.AppendUint32(zcl, 0)                 // provider ID
	zcl = binary.LittleEndian.AppendUint32(zcl, uint32(c.Counter)) // issuer event ID
	zcl = binary.LittleEndian.AppendUint32(zcl, at)
	zcl = binary.LittleEndian.AppendUint16(zcl, cfg)
	zcl = binary.LittleEndian.AppendUint32(zcl, 0) // cut off value
	// GBZ: profile 0x0109, one component, extended header control
	// (last, unencrypted, no from-date-time), cluster 0x0705, length.
	b := []byte{0x01, 0x09, 1, 0x01, 0x07, 0x05}
	b = binary.BigEndian.AppendUint16(b, uint16(len(zcl)))
	return append(b, zcl...), nil
}
