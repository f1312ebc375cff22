package gbcs

import (
	"fmt"
	"time"

	"github.com/smki/smki/eui64"
)

// Frame tags of the outermost GBCS structure.
const (
	FrameGeneralCiphering byte = 0xDD // MAC header, as the DCC sends commands to devices
	FrameGeneralSigning   byte = 0xDF // Grouping header, bare (Pre-Command, Signed Pre-Command, responses, alerts)
)

// CRA flag values (the first octet of the General Signing transaction-id).
const (
	CRACommand  byte = 1
	CRAResponse byte = 2
	CRAAlert    byte = 3
)

// signatureLen is the size of a GBCS ECDSA P-256 signature, raw r||s.
const signatureLen = 64

// macLen is the size of the GBCS MAC (AES-GCM tag) after a MAC header.
const macLen = 12

// Header is what ParseHeader reads from a GBCS message. Byte slices alias
// the input: copy them if the input is reused.
type Header struct {
	// Frame is the outermost tag: FrameGeneralCiphering when the message
	// has a MAC header around its General Signing frame, else
	// FrameGeneralSigning.
	Frame byte
	// SecurityControl and InvocationCounter are the MAC header's security
	// header; MAC is its 12-byte tag. All zero/nil without a MAC header.
	SecurityControl   byte
	InvocationCounter uint32
	MAC               []byte

	// CRAFlag is 1 (command), 2 (response) or 3 (alert).
	CRAFlag byte
	// Kind is derived from CRAFlag and the presence of a signature field.
	Kind Kind
	// OriginatorCounter is the originator's transaction counter (for a
	// command, the counter of the DUIS RequestID).
	OriginatorCounter uint64
	// Originator and Recipient are the system titles: for a command, the
	// sending User ID and the device.
	Originator, Recipient eui64.ID
	// DateTime is the header date-time, nil if absent or not one instant
	// (see parseDateTime); RawDateTime holds its 12 bytes when present.
	DateTime    *time.Time
	RawDateTime []byte
	// MessageCode is the header's Message Code. OtherInfo is the rest of
	// the other-information field (supplementary remote party data).
	MessageCode uint16
	OtherInfo   []byte
	// UseCase is the use case MessageCode names; for a future-dated
	// execution alert (codes 0x00CC, 0x00CD), the use case of the command
	// the alert reports on.
	UseCase UseCase
	// For future-dated execution alerts: the alert code (0x8F66), and the
	// Message Code and originator counter of the command reported on.
	AlertCode           uint16
	ReportedMessageCode uint16
	ReportedCounter     uint64

	// Content is the payload (DLMS COSEM, GBZ or ASN.1, per use case).
	Content []byte
	// HasSignatureField is false only for a Pre-Command, which ends after
	// its content. Signature is the 64-byte raw r||s, nil when the field
	// is absent or empty.
	HasSignatureField bool
	Signature         []byte
	// SignedData is what Signature signs (GBCS: the General Signing frame
	// after its tag, up to the end of the content): verify
	// ECDSA-P256-SHA256(SignedData) against the originator's Digital
	// Signing certificate.
	SignedData []byte
}

// ParseHeader parses one GBCS message: an optional MAC header, the General
// Signing frame and, for future-dated execution alerts, the alert body far
// enough to know the reported use case. It checks every length, the frame
// structure (six empty general-ciphering fields, a 9-byte transaction-id,
// 8-byte system titles, a 0- or 12-byte date-time, a Message Code, a
// signature that is absent, empty or exactly 64 bytes) and that nothing
// trails the message. It does not parse the content beyond alerts, verify
// the signature or check the MAC. Any failure is ErrMalformed.
func ParseHeader(b []byte) (*Header, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrMalformed)
	}
	h := &Header{Frame: b[0]}
	switch b[0] {
	case FrameGeneralCiphering:
		inner, err := h.parseMACHeader(b)
		if err != nil {
			return nil, err
		}
		if err := h.parseSigning(inner, true); err != nil {
			return nil, err
		}
	case FrameGeneralSigning:
		if err := h.parseSigning(b, false); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: unknown frame tag 0x%02X", ErrMalformed, b[0])
	}
	if err := h.classify(); err != nil {
		return nil, err
	}
	return h, nil
}

// parseMACHeader reads the MAC header and returns the General Signing frame
// inside it.
func (h *Header) parseMACHeader(b []byte) ([]byte, error) {
	r := &reader{b: b}
	if err := r.expect(FrameGeneralCiphering, "general-ciphering tag"); err != nil {
		return nil, err
	}
	// transaction-id, originator and recipient system titles, date-time,
	// other-information, key-info: GBCS leaves all six empty in a MAC
	// header. Anything else is not a frame this package reads.
	for _, f := range []string{"transaction-id", "originator-system-title", "recipient-system-title",
		"date-time", "other-information", "key-info"} {
		if err := r.expect(0x00, "MAC header "+f+" (must be empty)"); err != nil {
			return nil, err
		}
	}
	body, err := r.lv("ciphered-content")
	if err != nil {
		return nil, err
	}
	if r.remaining() != 0 {
		return nil, r.fail(fmt.Sprintf("%d bytes after the MAC header's content", r.remaining()))
	}
	if len(body) < 5+macLen+1 {
		return nil, fmt.Errorf("%w: MAC header content is %d bytes, too short", ErrMalformed, len(body))
	}
	br := &reader{b: body}
	h.SecurityControl, _ = br.u8("security control")
	h.InvocationCounter, _ = br.u32("invocation counter")
	h.MAC = body[len(body)-macLen:]
	return body[5 : len(body)-macLen], nil
}

// parseSigning reads a General Signing frame that must fill b exactly.
// wrapped says it came inside a MAC header, where the signature field
// (empty for non-critical commands) is never omitted.
func (h *Header) parseSigning(b []byte, wrapped bool) error {
	r := &reader{b: b}
	var err error
	if err = r.expect(FrameGeneralSigning, "general-signing tag"); err != nil {
		return err
	}
	if err = r.expect(9, "transaction-id length"); err != nil {
		return err
	}
	at := r.off
	if h.CRAFlag, err = r.u8("CRA flag"); err != nil {
		return err
	}
	if h.CRAFlag < CRACommand || h.CRAFlag > CRAAlert {
		return fmt.Errorf("%w: CRA flag 0x%02X at offset %d", ErrMalformed, h.CRAFlag, at)
	}
	if h.OriginatorCounter, err = r.u64("originator counter"); err != nil {
		return err
	}
	for _, st := range []struct {
		dst  *eui64.ID
		what string
	}{{&h.Originator, "originator-system-title"}, {&h.Recipient, "recipient-system-title"}} {
		if err = r.expect(8, st.what+" length"); err != nil {
			return err
		}
		s, err := r.take(8, st.what)
		if err != nil {
			return err
		}
		copy(st.dst[:], s)
	}
	at = r.off
	dt, err := r.lv("date-time")
	if err != nil {
		return err
	}
	switch len(dt) {
	case 0:
	case dlmsDateTimeLen:
		h.RawDateTime = dt
		if h.DateTime, err = parseDateTime(dt); err != nil {
			return fmt.Errorf("%w (header, offset %d)", err, at)
		}
	default:
		return fmt.Errorf("%w: date-time length %d at offset %d", ErrMalformed, len(dt), at)
	}
	at = r.off
	other, err := r.lv("other-information")
	if err != nil {
		return err
	}
	if len(other) < 2 {
		return fmt.Errorf("%w: other-information of %d bytes has no Message Code at offset %d", ErrMalformed, len(other), at)
	}
	h.MessageCode = uint16(other[0])<<8 | uint16(other[1])
	h.OtherInfo = other[2:]
	if h.Content, err = r.lv("content"); err != nil {
		return err
	}
	h.SignedData = b[1:r.off:r.off]

	// The signature field: absent (Pre-Command only), empty, or 64 bytes.
	if r.remaining() == 0 {
		if wrapped || h.CRAFlag != CRACommand {
			return r.fail("signature field missing")
		}
		h.Kind = KindPreCommand
		return nil
	}
	h.HasSignatureField = true
	at = r.off
	n, err := r.length("signature length")
	if err != nil {
		return err
	}
	switch n {
	case 0:
	case signatureLen:
		h.Signature, _ = r.take(n, "signature")
	default:
		return fmt.Errorf("%w: signature of %d bytes at offset %d, want 0 or %d", ErrMalformed, n, at, signatureLen)
	}
	if r.remaining() != 0 {
		return r.fail(fmt.Sprintf("%d trailing bytes", r.remaining()))
	}
	switch h.CRAFlag {
	case CRACommand:
		h.Kind = KindCommand
	case CRAResponse:
		h.Kind = KindResponse
	default:
		h.Kind = KindAlert
	}
	return nil
}

// classify sets UseCase, reading a future-dated execution alert's body for
// the use case it reports on.
func (h *Header) classify() error {
	code := h.MessageCode
	if h.CRAFlag == CRAAlert && (code == CodeFutureDatedDLMS || code == CodeFutureDatedGBZ) {
		var err error
		if code == CodeFutureDatedDLMS {
			err = h.parseFutureDatedDLMS()
		} else {
			err = h.parseFutureDatedGBZ()
		}
		if err != nil {
			return err
		}
		code = h.ReportedMessageCode
	}
	h.UseCase = UseCaseOf(code)
	return nil
}
