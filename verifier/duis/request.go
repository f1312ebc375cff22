package duis

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/verifier/xmldsig"
)

// Namespace is the DUIS Service User Gateway namespace (prefix sr).
const Namespace = "http://www.dccinterface.co.uk/ServiceUserGateway"

// ErrMalformed is the MALFORMED code shared with xmldsig: every error
// FromElement and ParseRequestID return wraps it.
var ErrMalformed = xmldsig.ErrMalformed

// PaymentMode is the target mode of an SR 1.6 UpdatePaymentMode body.
type PaymentMode int

const (
	// PaymentNone: not an UpdatePaymentMode body (including a
	// SignedPreCommand, whose mode is in the GBCS payload).
	PaymentNone PaymentMode = iota
	// PaymentCredit: <sr:Credit/>.
	PaymentCredit
	// PaymentPrepayment: <sr:Prepayment>.
	PaymentPrepayment
)

// String returns "none", "credit" or "prepayment".
func (m PaymentMode) String() string {
	switch m {
	case PaymentCredit:
		return "credit"
	case PaymentPrepayment:
		return "prepayment"
	}
	return "none"
}

// Request is a Service Request as signed.
type Request struct {
	ID                      RequestID
	CommandVariant          int
	ServiceReference        string
	ServiceReferenceVariant string
	// Body is sr:Body; its single child is the request-specific element.
	Body *xmldsig.Element
	// PaymentMode is set for an SR 1.6 UpdatePaymentMode body.
	PaymentMode PaymentMode
	// GBCSPayload is the base64-decoded SignedPreCommand/GBCSPayload when
	// CommandVariant is 5, 6 or 7, nil otherwise.
	GBCSPayload []byte
	// ExecutionDateTime is the body's ExecutionDateTime (UpdatePaymentMode
	// or SignedPreCommand), zero if absent.
	ExecutionDateTime time.Time
}

// Service Reference Variant of Update Payment Mode.
const srvUpdatePaymentMode = "1.6"

// FromElement reads a Request from the verified document element. It
// requires: root sr:Request with a schemaVersion attribute (a decimal);
// children exactly sr:Header then sr:Body; Header children in schema order
// RequestID, optional FirstInSequence (boolean), optional
// PrecedingServiceRequestID (a RequestID), CommandVariant (1..8),
// ServiceReference, ServiceReferenceVariant (equal to the ServiceReference
// or extending it by ".n"), each once, each a leaf; a Body
// with exactly one child element. For Command Variants 5-7 that child must
// be sr:SignedPreCommand (optional ExecutionDateTime, then GBCSPayload,
// non-empty base64). Otherwise, for Service Reference Variant 1.6, it must
// be sr:UpdatePaymentMode (optional ExecutionDateTime, then exactly one of
// an empty sr:Credit or sr:Prepayment with SuspendDebtDisabled,
// SuspendDebtEmergency and DisablementThreshold). Leaf values are
// whitespace-trimmed as xs:token. Any violation is ErrMalformed.
func FromElement(root *xmldsig.Element) (*Request, error) {
	if root == nil || root.Space != Namespace || root.Local != "Request" {
		return nil, bad("document element is not sr:Request")
	}
	sv, ok := root.Attr("", "schemaVersion")
	if !ok || !isDecimal(strings.TrimSpace(sv)) {
		return nil, bad("sr:Request without a decimal schemaVersion")
	}
	kids := root.ChildElements()
	if len(kids) != 2 || !isSR(kids[0], "Header") || !isSR(kids[1], "Body") {
		return nil, bad("sr:Request must contain exactly sr:Header then sr:Body")
	}
	req := &Request{Body: kids[1]}
	err := readHeader(req, kids[0])
	if err != nil {
		return nil, err
	}
	body := kids[1].ChildElements()
	if len(body) != 1 || body[0].Space != Namespace {
		return nil, bad("sr:Body must contain exactly one sr: element")
	}
	if !blank(kids[1].Text) {
		return nil, bad("text in sr:Body")
	}
	switch {
	case req.CommandVariant >= 5 && req.CommandVariant <= 7:
		err = readSignedPreCommand(req, body[0])
	case req.ServiceReferenceVariant == srvUpdatePaymentMode:
		err = readUpdatePaymentMode(req, body[0])
	}
	if err != nil {
		return nil, err
	}
	return req, nil
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func isSR(e *xmldsig.Element, local string) bool { return e.Space == Namespace && e.Local == local }

func blank(s string) bool { return trimXMLSpace(s) == "" }

// trimXMLSpace is strings.Trim(s, " \t\r\n") (xs:token's whitespace)
// without the character set strings.Trim builds on every call.
func trimXMLSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isXMLSpace(s[i]) {
		i++
	}
	for j > i && isXMLSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// allDigits reports whether s has only the bytes '0'..'9' (true when
// empty).
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// leaf returns the trimmed text of a leaf element with no attributes.
func leaf(e *xmldsig.Element) (string, error) {
	if len(e.Children) != 0 {
		return "", bad("sr:%s must not contain elements", e.Local)
	}
	if len(e.Attrs) != 0 {
		return "", bad("sr:%s must not have attributes", e.Local)
	}
	return trimXMLSpace(e.Text), nil
}

// sequence matches kids against names in order; names ending in "?" are
// optional. It sets out[n] to the element (or nil) for names[n]; out must
// be as long as names (callers pass an array: no allocation).
func sequence(out []*xmldsig.Element, parent *xmldsig.Element, names ...string) error {
	kids := parent.ChildElements()
	clear(out)
	k := 0
	for n, name := range names {
		opt := strings.HasSuffix(name, "?")
		name = strings.TrimSuffix(name, "?")
		if k < len(kids) && isSR(kids[k], name) {
			out[n] = kids[k]
			k++
			continue
		}
		if !opt {
			return bad("sr:%s: missing or misplaced sr:%s", parent.Local, name)
		}
	}
	if k != len(kids) {
		return bad("sr:%s: unexpected element %s", parent.Local, kids[k].Local)
	}
	if !blank(parent.Text) {
		return bad("text in sr:%s", parent.Local)
	}
	return nil
}

func readHeader(req *Request, h *xmldsig.Element) error {
	if len(h.Attrs) != 0 {
		return bad("sr:Header must not have attributes")
	}
	var f [6]*xmldsig.Element
	if err := sequence(f[:], h, "RequestID", "FirstInSequence?", "PrecedingServiceRequestID?",
		"CommandVariant", "ServiceReference", "ServiceReferenceVariant"); err != nil {
		return err
	}
	v, err := leaf(f[0])
	if err != nil {
		return err
	}
	if req.ID, err = ParseRequestID(v); err != nil {
		return err
	}
	if f[1] != nil {
		if v, err = leaf(f[1]); err != nil {
			return err
		}
		if _, err := parseBool(v); err != nil {
			return err
		}
	}
	if f[2] != nil {
		if v, err = leaf(f[2]); err != nil {
			return err
		}
		if _, err := ParseRequestID(v); err != nil {
			return err
		}
	}
	if v, err = leaf(f[3]); err != nil {
		return err
	}
	if len(v) != 1 || v[0] < '1' || v[0] > '8' {
		return bad("CommandVariant %q is not 1..8", v)
	}
	req.CommandVariant = int(v[0] - '0')
	if v, err = leaf(f[4]); err != nil {
		return err
	}
	if !isServiceRef(v) {
		return bad("ServiceReference %q", v)
	}
	req.ServiceReference = v
	if v, err = leaf(f[5]); err != nil {
		return err
	}
	if !isServiceRef(v) {
		return bad("ServiceReferenceVariant %q", v)
	}
	// The SRV must belong to the SR ("1.6" / "1.6", "6.15" / "6.15.1").
	// Eligibility, the SC content rule and ADT key on the SRV, while the
	// DCC and audit may read the SR: a split pair (SR 3.2 with SRV 1.6)
	// would let the two disagree on what was authorised.
	if v != req.ServiceReference && !strings.HasPrefix(v, req.ServiceReference+".") {
		return bad("ServiceReferenceVariant %q is not a variant of ServiceReference %q", v, req.ServiceReference)
	}
	req.ServiceReferenceVariant = v
	return nil
}

// isServiceRef accepts dotted numbers such as "1.6" or "6.15.1" (the
// schema's enumerations are all of this form; which ones a role may send is
// the verifier's allow-list).
func isServiceRef(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	// Dot-separated runs of 1-3 digits, scanned in place.
	run := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if run == 0 {
				return false
			}
			run = 0
		case '0' <= c && c <= '9':
			if run++; run > 3 {
				return false
			}
		default:
			return false
		}
	}
	return run > 0
}

func isDecimal(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && strings.TrimLeft(s, "0123456789.") == ""
}

// parseBool is xs:boolean.
func parseBool(s string) (bool, error) {
	switch s {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, bad("%q is not an xs:boolean", s)
}

// parseDateTime is xs:dateTime with a mandatory time zone: a time without
// one is ambiguous for a command that executes in the future.
func parseDateTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, bad("ExecutionDateTime %q is not an xs:dateTime with a time zone", s)
	}
	return t, nil
}

func readExecution(req *Request, e *xmldsig.Element) error {
	if e == nil {
		return nil
	}
	v, err := leaf(e)
	if err != nil {
		return err
	}
	req.ExecutionDateTime, err = parseDateTime(v)
	return err
}

func readSignedPreCommand(req *Request, e *xmldsig.Element) error {
	if !isSR(e, "SignedPreCommand") {
		return bad("Command Variant %d requires sr:SignedPreCommand, got sr:%s", req.CommandVariant, e.Local)
	}
	if len(e.Attrs) != 0 {
		return bad("sr:SignedPreCommand must not have attributes")
	}
	var f [2]*xmldsig.Element
	if err := sequence(f[:], e, "ExecutionDateTime?", "GBCSPayload"); err != nil {
		return err
	}
	if err := readExecution(req, f[0]); err != nil {
		return err
	}
	v, err := leaf(f[1])
	if err != nil {
		return err
	}
	p, err := base64.StdEncoding.Strict().DecodeString(stripSpace(v))
	if err != nil || len(p) == 0 {
		return bad("GBCSPayload is not non-empty base64")
	}
	req.GBCSPayload = p
	return nil
}

func stripSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}

func readUpdatePaymentMode(req *Request, e *xmldsig.Element) error {
	if !isSR(e, "UpdatePaymentMode") {
		return bad("Service Reference Variant 1.6 requires sr:UpdatePaymentMode, got sr:%s", e.Local)
	}
	if len(e.Attrs) != 0 {
		return bad("sr:UpdatePaymentMode must not have attributes")
	}
	kids := e.ChildElements()
	var exec *xmldsig.Element
	if len(kids) > 0 && isSR(kids[0], "ExecutionDateTime") {
		exec, kids = kids[0], kids[1:]
	}
	if len(kids) != 1 || !blank(e.Text) {
		return bad("sr:UpdatePaymentMode must hold exactly one of sr:Credit or sr:Prepayment")
	}
	if err := readExecution(req, exec); err != nil {
		return err
	}
	switch m := kids[0]; {
	case isSR(m, "Credit"):
		if len(m.Children) != 0 || len(m.Attrs) != 0 || !blank(m.Text) {
			return bad("sr:Credit must be empty")
		}
		req.PaymentMode = PaymentCredit
	case isSR(m, "Prepayment"):
		if len(m.Attrs) != 0 {
			return bad("sr:Prepayment must not have attributes")
		}
		var f [3]*xmldsig.Element
		if err := sequence(f[:], m, "SuspendDebtDisabled", "SuspendDebtEmergency", "DisablementThreshold"); err != nil {
			return err
		}
		for _, b := range f[:2] {
			v, err := leaf(b)
			if err != nil {
				return err
			}
			if _, err := parseBool(v); err != nil {
				return err
			}
		}
		v, err := leaf(f[2])
		if err != nil {
			return err
		}
		if _, err := strconv.ParseInt(v, 10, 32); err != nil {
			return bad("DisablementThreshold %q is not an xs:int", v)
		}
		req.PaymentMode = PaymentPrepayment
	default:
		return bad("sr:UpdatePaymentMode: unexpected sr:%s", m.Local)
	}
	return nil
}
