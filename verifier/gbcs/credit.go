package gbcs

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// ToCredit reports whether payload, the GBCSPayload of a DUIS
// SignedPreCommand (Command Variants 5-7), is a signed command that changes
// a meter's payment mode to Credit: use case ECS02 (electricity) or GCS02
// (gas). That payload is the Pre-Command the DCC returned for Command
// Variant 4 with the user's signature field appended (General Signing,
// tag 0xDF); the same frame inside the DCC's MAC header (tag 0xDD, the form
// the DCC sends on to the device and the RTDS COMMAND vectors hold) is
// accepted too.
//
// Both the Message Code and the payload must say "to Credit", because the
// device acts on the payload:
//   - ECS02 (DLMS COSEM): an access-request of "set" operations only, all on
//     the Account object 0-1:19.0.0.255 (class 111) attributes 2, 11 or 13;
//     attribute 2 (account_mode_and_status) set exactly once, first, to a
//     structure whose payment_mode enum is 1 (credit mode).
//   - GCS02 (GBZ/ZCL): one component, Prepayment cluster 0x0705 command 0x06
//     (Change Payment Mode), whose Proposed Payment Control Configuration
//     has bit 1 (Prepayment Enabled) clear.
//
// It returns the use case when the header parses, true only when every check
// passes, and otherwise an error wrapping ErrMalformed, ErrNotCommand,
// ErrUnsigned, ErrNotCredit or ErrContent. It does not verify the signature.
func ToCredit(payload []byte) (UseCase, bool, error) {
	h, err := ParseHeader(payload)
	if err != nil {
		return "", false, err
	}
	if h.CRAFlag != CRACommand {
		return h.UseCase, false, fmt.Errorf("%w: %s", ErrNotCommand, h.Kind)
	}
	if h.Signature == nil {
		return h.UseCase, false, fmt.Errorf("%w: %s %s has no signature", ErrUnsigned, h.Kind, h.UseCase)
	}
	switch h.UseCase {
	case ECS02:
		err = checkDLMSCredit(h.Content)
	case GCS02:
		err = checkGBZCredit(h.Content)
	default:
		return h.UseCase, false, fmt.Errorf("%w: use case %s (message code 0x%04X)", ErrNotCredit, h.UseCase, h.MessageCode)
	}
	if err != nil {
		return h.UseCase, false, err
	}
	return h.UseCase, true, nil
}

// DLMS values for ECS02.
const (
	dlmsAccessRequest   byte   = 0xD9
	dlmsSet             byte   = 0x02
	classAccount        uint16 = 111
	attrModeAndStatus   byte   = 2
	attrCreditChargeCfg byte   = 11
	attrActivationTime  byte   = 13
	paymentModeCredit   byte   = 1
)

// obisAccount is the logical name 0-1:19.0.0.255 of the Account object.
var obisAccount = []byte{0x00, 0x01, 0x13, 0x00, 0x00, 0xFF}

func contentErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrContent}, a...)...)
}

// checkDLMSCredit checks an ECS02 payload (see ToCredit).
func checkDLMSCredit(c []byte) error {
	r := &reader{b: c}
	if err := r.expect(dlmsAccessRequest, "DLMS access-request tag"); err != nil {
		return contentErr("%v", err)
	}
	if _, err := r.take(4, "DLMS long-invoke-id"); err != nil {
		return contentErr("%v", err)
	}
	if dt, err := r.lv("DLMS date-time"); err != nil || (len(dt) != 0 && len(dt) != dlmsDateTimeLen) {
		return contentErr("DLMS date-time malformed")
	}
	n, err := r.length("DLMS request specification count")
	if err != nil || n == 0 {
		return contentErr("DLMS request has no specification")
	}
	modeAt := -1
	for i := 0; i < n; i++ {
		spec, err := r.take(10, "DLMS request specification")
		if err != nil {
			return contentErr("%v", err)
		}
		class := binary.BigEndian.Uint16(spec[1:3])
		if spec[0] != dlmsSet || class != classAccount || !bytes.Equal(spec[3:9], obisAccount) {
			return contentErr("specification %d is not a set on the Account object", i)
		}
		switch spec[9] {
		case attrModeAndStatus:
			if modeAt >= 0 {
				return contentErr("account_mode_and_status set twice")
			}
			modeAt = i
		case attrCreditChargeCfg, attrActivationTime:
		default:
			return contentErr("specification %d sets Account attribute %d", i, spec[9])
		}
	}
	// Only the first data item is read, so account_mode_and_status must
	// be first (as in every ECS02 the DCC builds): reading further would
	// mean parsing arbitrary DLMS data, which this check need not trust.
	if modeAt != 0 {
		return contentErr("account_mode_and_status is not the first specification")
	}
	m, err := r.length("DLMS data count")
	if err != nil || m != n {
		return contentErr("DLMS data count does not match %d specifications", n)
	}
	item, err := r.take(6, "account_mode_and_status value")
	if err != nil {
		return contentErr("%v", err)
	}
	if item[0] != dlmsStructure || item[1] != 2 || item[2] != dlmsEnum || item[4] != dlmsEnum {
		return contentErr("account_mode_and_status is not a structure of two enums")
	}
	if item[3] != paymentModeCredit {
		return contentErr("payment_mode is %d, not %d (credit)", item[3], paymentModeCredit)
	}
	return nil
}

// GBZ/ZCL values for GCS02.
const (
	gbzControlLast           byte   = 0x01 // single, last, unencrypted component without from-date-time
	clusterPrepayment        uint16 = 0x0705
	zclClusterSpecificToSrv  byte   = 0x01 // frame control: cluster-specific, client to server
	zclDisableDefaultResp    byte   = 0x10
	zclChangePaymentMode     byte   = 0x06
	changePaymentModeLen            = 18 // provider id, issuer event id, time, config, cut-off
	paymentCfgPrepaymentFlag uint16 = 1 << 1
)

// checkGBZCredit checks a GCS02 payload (see ToCredit).
func checkGBZCredit(c []byte) error {
	r := &reader{b: c}
	var hdr []byte
	var err error
	if hdr, err = r.take(8, "GBZ header"); err != nil {
		return contentErr("%v", err)
	}
	if binary.BigEndian.Uint16(hdr[0:2]) != gbzProfileID || hdr[2] != 1 {
		return contentErr("not a single-component GBZ payload")
	}
	if hdr[3] != gbzControlLast {
		return contentErr("GBZ extended header control 0x%02X", hdr[3])
	}
	if binary.BigEndian.Uint16(hdr[4:6]) != clusterPrepayment {
		return contentErr("GBZ cluster 0x%04X is not Prepayment", binary.BigEndian.Uint16(hdr[4:6]))
	}
	if int(binary.BigEndian.Uint16(hdr[6:8])) != r.remaining() {
		return contentErr("GBZ component length %d, %d bytes follow", binary.BigEndian.Uint16(hdr[6:8]), r.remaining())
	}
	zcl, err := r.take(3, "ZCL header")
	if err != nil {
		return contentErr("%v", err)
	}
	if zcl[0]&^zclDisableDefaultResp != zclClusterSpecificToSrv || zcl[2] != zclChangePaymentMode {
		return contentErr("ZCL frame control 0x%02X command 0x%02X is not Change Payment Mode", zcl[0], zcl[2])
	}
	p, err := r.take(r.remaining(), "Change Payment Mode")
	if err != nil || len(p) != changePaymentModeLen {
		return contentErr("Change Payment Mode payload is %d bytes, want %d", len(p), changePaymentModeLen)
	}
	cfg := binary.LittleEndian.Uint16(p[12:14]) // ZCL is little-endian
	if cfg&paymentCfgPrepaymentFlag != 0 {
		return contentErr("payment control configuration 0x%04X enables prepayment", cfg)
	}
	return nil
}
