package testpki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/verifier/xmldsig"
)

// ErrRequest is returned (wrapped) for a request the builder cannot write:
// a zero originator or target, an unknown body, or an SRV the default
// eligibility table (bundle/policy) does not define.
var ErrRequest = errors.New("E_TESTPKI_REQUEST")

// Body selects the Service Request a Request carries.
type Body int

// The Service Requests with a body as DUIS writes it. Element names follow
// the DUIS 5.4 schema (sr:UpdatePaymentMode, sr:SignedPreCommand,
// sr:ReadInstantaneousImportRegisters). Any other SRV is sent with
// Request.SRV.
const (
	// Credit is SR 1.6 Update Payment Mode to Credit (Command Variant 4):
	// the one request the SoLR Contingency role exists to send.
	Credit Body = iota + 1
	// Prepayment is SR 1.6 to Prepayment, which SC may never send (R5).
	Prepayment
	// ReadImportRegisters is SR 4.1.1 Read Instantaneous Import Registers
	// (Command Variant 1), a request outside SC's allow-list (R3).
	ReadImportRegisters
	// SignedPreCommand is SR 1.6 as Command Variant 5: the body carries
	// Request.GBCSPayload, the GBCS command the Supplier signed
	// (GBCSCommand), which is what a SMETS2+ meter acts on.
	SignedPreCommand
)

// String names b for reports.
func (b Body) String() string {
	switch b {
	case Credit:
		return "1.6 Credit"
	case Prepayment:
		return "1.6 Prepayment"
	case ReadImportRegisters:
		return "4.1.1 Read Import Registers"
	case SignedPreCommand:
		return "1.6 SignedPreCommand"
	}
	return fmt.Sprintf("Body(%d)", int(b))
}

// header returns the Command Variant, Service Reference and Service
// Reference Variant of b.
func (b Body) header() (cv int, sr, srv string, ok bool) {
	switch b {
	case Credit, Prepayment:
		return 4, "1.6", "1.6", true
	case SignedPreCommand:
		return 5, "1.6", "1.6", true
	case ReadImportRegisters:
		return 1, "4.1", "4.1.1", true
	}
	return 0, "", "", false
}

// SchemaVersion is the DUIS schema version the builder writes.
const SchemaVersion = "5.4"

// Request is an unsigned DUIS Service Request: RequestID
// originator:target:counter, the header the Body implies, and the body.
type Request struct {
	Originator eui64.ID
	Target     eui64.ID
	Counter    uint64
	Body       Body
	// SRV, used when Body is zero, is any Service Reference Variant of
	// the default eligibility table (policy.Default). Its body is one
	// empty sr: element named after the SRV's DUIS name ("Update Debt":
	// sr:UpdateDebt): what the verifier reads of it (the header, and that
	// the body is one sr: element) is as DUIS has it, the rest of the body
	// is not. A Critical SRV is sent as Command Variant 4, any other as 1.
	// SR 1.6 needs a Body (Credit or Prepayment).
	SRV string
	// ExecutionDateTime, if not zero, is written in the body (a
	// future-dated request); UTC, RFC 3339.
	ExecutionDateTime time.Time
	// GBCSPayload is the signed GBCS command (GBCSCommand.Sign) a
	// SignedPreCommand body carries, base64; required with that Body and
	// refused with any other.
	GBCSPayload []byte
}

// genericHeader returns the header and body element of r.SRV.
func (r Request) genericHeader() (cv int, sr, srv, elem string, ok bool) {
	v, ok := policy.Default().Variant(r.SRV)
	if !ok || r.SRV == srv16 {
		return 0, "", "", "", false
	}
	cv = 1
	if v.Critical {
		cv = 4
	}
	sr = r.SRV
	if parts := strings.Split(r.SRV, "."); len(parts) > 2 {
		sr = strings.Join(parts[:2], ".")
	}
	for _, w := range strings.FieldsFunc(v.Name, func(c rune) bool {
		return !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
	}) {
		elem += strings.ToUpper(w[:1]) + w[1:]
	}
	return cv, sr, r.SRV, elem, elem != ""
}

// srv16 is SR 1.6, Update Payment Mode, whose body the verifier reads.
const srv16 = "1.6"

// RequestID returns the DUIS RequestID, originator:target:counter.
func (r Request) RequestID() string {
	return r.Originator.String() + ":" + r.Target.String() + ":" + strconv.FormatUint(r.Counter, 10)
}

// XML returns the request as a DUIS sr:Request document, without a
// signature. Every value it writes is an EUI-64, a decimal, base64 or a
// fixed element name, so nothing needs escaping.
func (r Request) XML() ([]byte, error) {
	if r.Originator.IsZero() || r.Target.IsZero() {
		return nil, fmt.Errorf("%w: originator and target are required", ErrRequest)
	}
	cv, sr, srv, ok := r.Body.header()
	var elem string
	if r.Body == 0 {
		if cv, sr, srv, elem, ok = r.genericHeader(); !ok {
			return nil, fmt.Errorf("%w: SRV %q is not one the eligibility table defines, or needs a Body", ErrRequest, r.SRV)
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: unknown body %d", ErrRequest, int(r.Body))
	}
	if (r.Body == SignedPreCommand) != (len(r.GBCSPayload) > 0) {
		return nil, fmt.Errorf("%w: a GBCS payload goes with a SignedPreCommand body, and only there", ErrRequest)
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="%s">`, SchemaVersion)
	fmt.Fprintf(&b, "<sr:Header><sr:RequestID>%s</sr:RequestID><sr:CommandVariant>%d</sr:CommandVariant>"+
		"<sr:ServiceReference>%s</sr:ServiceReference><sr:ServiceReferenceVariant>%s</sr:ServiceReferenceVariant></sr:Header>",
		r.RequestID(), cv, sr, srv)
	exec := ""
	if !r.ExecutionDateTime.IsZero() {
		exec = "<sr:ExecutionDateTime>" + r.ExecutionDateTime.UTC().Format(time.RFC3339) + "</sr:ExecutionDateTime>"
	}
	b.WriteString("<sr:Body>")
	switch r.Body {
	case Credit:
		b.WriteString("<sr:UpdatePaymentMode>" + exec + "<sr:Credit/></sr:UpdatePaymentMode>")
	case Prepayment:
		b.WriteString("<sr:UpdatePaymentMode>" + exec + "<sr:Prepayment><sr:SuspendDebtDisabled>false</sr:SuspendDebtDisabled>" +
			"<sr:SuspendDebtEmergency>false</sr:SuspendDebtEmergency><sr:DisablementThreshold>0</sr:DisablementThreshold>" +
			"</sr:Prepayment></sr:UpdatePaymentMode>")
	case ReadImportRegisters:
		b.WriteString("<sr:ReadInstantaneousImportRegisters>" + exec + "</sr:ReadInstantaneousImportRegisters>")
	case SignedPreCommand:
		b.WriteString("<sr:SignedPreCommand>" + exec + "<sr:GBCSPayload>" + base64.StdEncoding.EncodeToString(r.GBCSPayload) +
			"</sr:GBCSPayload></sr:SignedPreCommand>")
	default:
		b.WriteString("<sr:" + elem + ">" + exec + "</sr:" + elem + ">")
	}
	b.WriteString("</sr:Body></sr:Request>\n")
	return b.Bytes(), nil
}

// Sign builds r and signs it with key and cert in the DUIS XMLDSig profile
// (xmldsig.Sign: KeyInfo names the certificate by issuer and serial).
func (r Request) Sign(key crypto.Signer, cert *x509.Certificate) ([]byte, error) {
	data, err := r.XML()
	if err != nil {
		return nil, err
	}
	return xmldsig.Sign(data, key, cert, xmldsig.SignOptions{})
}

// Tamper returns a copy of a signed request whose RequestID counter is
// changed after signing (one digit, so the document stays well-formed and
// the same size): what an attacker on the path would do to replay a
// request under a fresh counter. The signature no longer verifies.
func Tamper(signed []byte) ([]byte, error) {
	const open = "RequestID>"
	i := bytes.Index(signed, []byte(open))
	if i < 0 {
		return nil, fmt.Errorf("%w: no RequestID to tamper with", ErrRequest)
	}
	end := bytes.IndexByte(signed[i:], '<')
	if end < 0 {
		return nil, fmt.Errorf("%w: unterminated RequestID", ErrRequest)
	}
	j := i + end - 1 // the counter's last digit
	if j <= i || signed[j] < '0' || signed[j] > '9' {
		return nil, fmt.Errorf("%w: RequestID does not end in a counter", ErrRequest)
	}
	out := bytes.Clone(signed)
	out[j] = '0' + (signed[j]-'0'+1)%10
	return out, nil
}

// WithDTD returns a copy of a signed request with an internal DTD subset
// declaring an entity (the start of a billion-laughs document) inserted
// before the document element. Verifiers must refuse it before any
// cryptography.
func WithDTD(signed []byte) ([]byte, error) {
	i := bytes.Index(signed, []byte("<sr:Request"))
	if i < 0 {
		return nil, fmt.Errorf("%w: no sr:Request element", ErrRequest)
	}
	const dtd = `<!DOCTYPE sr:Request [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` + "\n"
	out := make([]byte, 0, len(signed)+len(dtd))
	out = append(out, signed[:i]...)
	out = append(out, dtd...)
	return append(out, signed[i:]...), nil
}
