package gbcs

import "fmt"

// DLMS data type tags used in alert bodies.
const (
	dlmsDataNotification byte = 0x0F
	dlmsStructure        byte = 0x02
	dlmsOctetString      byte = 0x09
	dlmsLongUnsigned     byte = 0x12
	dlmsEnum             byte = 0x16
)

// gbzProfileID is the ZigBee Smart Energy profile every GBZ payload starts with.
const gbzProfileID uint16 = 0x0109

// reportedLen is the fixed start of a future-dated alert's payload: the
// reported Message Code (2) and originator counter (8).
const reportedLen = 10

// parseFutureDatedDLMS reads an ESME future-dated execution alert:
//
//	0F <long-invoke-id:4> <date-time: 00 | 0C+12>
//	02 03                                  structure of three
//	  12 <alert code:2>
//	  09 0C <timestamp:12>
//	  09 <len> <message code:2> <counter:8> <COSEM attribute descriptor>
func (h *Header) parseFutureDatedDLMS() error {
	r := &reader{b: h.Content}
	if err := r.expect(dlmsDataNotification, "alert: data-notification tag"); err != nil {
		return err
	}
	if _, err := r.take(4, "alert: long-invoke-id"); err != nil {
		return err
	}
	dt, err := r.lv("alert: date-time")
	if err != nil {
		return err
	}
	if len(dt) != 0 && len(dt) != dlmsDateTimeLen {
		return r.fail(fmt.Sprintf("alert: date-time length %d", len(dt)))
	}
	if err := r.expect(dlmsStructure, "alert: structure tag"); err != nil {
		return err
	}
	if err := r.expect(3, "alert: structure size"); err != nil {
		return err
	}
	if err := r.expect(dlmsLongUnsigned, "alert: alert code tag"); err != nil {
		return err
	}
	if h.AlertCode, err = r.u16("alert: alert code"); err != nil {
		return err
	}
	if err := r.expect(dlmsOctetString, "alert: timestamp tag"); err != nil {
		return err
	}
	ts, err := r.lv("alert: timestamp")
	if err != nil {
		return err
	}
	if len(ts) != dlmsDateTimeLen {
		return r.fail(fmt.Sprintf("alert: timestamp length %d", len(ts)))
	}
	if err := r.expect(dlmsOctetString, "alert: payload tag"); err != nil {
		return err
	}
	p, err := r.lv("alert: payload")
	if err != nil {
		return err
	}
	if r.remaining() != 0 {
		return r.fail(fmt.Sprintf("alert: %d trailing bytes", r.remaining()))
	}
	return h.readReported(p)
}

// parseFutureDatedGBZ reads a GSME future-dated execution alert:
//
//	01 09 <components:1> <alert code:2> <UTC time:4>
//	<len:1> <message code:2> <counter:8> <cluster:2> <frame control:1> <command:1>
func (h *Header) parseFutureDatedGBZ() error {
	r := &reader{b: h.Content}
	prof, err := r.u16("alert: GBZ profile id")
	if err != nil {
		return err
	}
	if prof != gbzProfileID {
		return fmt.Errorf("%w: alert: GBZ profile id 0x%04X", ErrMalformed, prof)
	}
	if _, err := r.u8("alert: GBZ component count"); err != nil {
		return err
	}
	if h.AlertCode, err = r.u16("alert: alert code"); err != nil {
		return err
	}
	if _, err := r.u32("alert: GBZ time"); err != nil {
		return err
	}
	n, err := r.u8("alert: payload length")
	if err != nil {
		return err
	}
	p, err := r.take(int(n), "alert: payload")
	if err != nil {
		return err
	}
	if r.remaining() != 0 {
		return r.fail(fmt.Sprintf("alert: %d trailing bytes", r.remaining()))
	}
	return h.readReported(p)
}

func (h *Header) readReported(p []byte) error {
	r := &reader{b: p}
	if len(p) < reportedLen {
		return fmt.Errorf("%w: alert payload of %d bytes, want at least %d", ErrMalformed, len(p), reportedLen)
	}
	h.ReportedMessageCode, _ = r.u16("alert: reported message code")
	h.ReportedCounter, _ = r.u64("alert: reported counter")
	return nil
}
