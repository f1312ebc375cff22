package verifier

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/verifier/xmldsig"
)

// FuzzSignedRequestDifferential: mutations of a Service Request that a key
// the verifier trusts then signs (an SC user's, the attacker of the red
// team's review: a legitimate or stolen key trying to do more than SR 1.6
// to Credit for the failed Supplier's devices). The signature holds for
// every input that xmldsig.Sign can sign, so the fuzzer explores the
// checks after it, which no unsigned input reaches.
//
// The property is differential: whatever the verifier accepts, a second,
// independent reader (encoding/xml, which shares no code with the
// verifier's own parser) must read as exactly what an SC user may send
// (sc1_6Oracle). A parser differential, where the verifier and the
// systems behind it read one signed document two ways, is how signed-XML
// checks are defeated; any accept the second reader reads otherwise is a
// finding. A refusal must carry one of the documented codes.
func FuzzSignedRequestDifferential(f *testing.F) {
	s := newScenario(f)
	credit := request(f, tmplCredit, userSC, devA1, 1)
	f.Add(credit)
	f.Add(request(f, tmplCredit, userSC, devA2, 2))
	f.Add(request(f, tmplPrepay, userSC, devA1, 3))
	f.Add(request(f, tmplTariff, userSC, devA1, 4))
	f.Add(bytes.Replace(credit, []byte("<sr:Credit/>"), []byte("<sr:Credit></sr:Credit>"), 1))
	f.Add(bytes.Replace(credit, []byte("<sr:UpdatePaymentMode>"),
		[]byte("<sr:UpdatePaymentMode><sr:ExecutionDateTime>2025-06-01T12:30:00Z</sr:ExecutionDateTime>"), 1))
	f.Add(bytes.Replace(credit, []byte("<sr:Credit/>"), []byte("<sr:Credit/>"+prepay), 1))
	o := s.options(s.bundle)
	known := map[string]bool{}
	for _, c := range []string{CodeE1, CodeE2, CodeE4, CodePARTY, CodeAD1, CodeSIG, CodeCERT, CodeREVOKED,
		CodeREPLAY, CodeSTALE, CodeMALFORMED} {
		known[c] = true
	}
	at := testNow.Add(time.Minute)
	f.Fuzz(func(t *testing.T, msg []byte) {
		signed, err := xmldsig.Sign(msg, s.sc.key, s.sc.cert, xmldsig.SignOptions{})
		if err != nil {
			return // not a document the signer signs: nothing to explore
		}
		// A verifier per input: the replay counter and the ADT count of one
		// input must not decide another's.
		v, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		d := v.Verify(signed, at)
		if !d.Accepted() {
			if !known[d.Code] || d.Route != "" {
				t.Fatalf("refusal %q (route %q) is not a documented decision: %s", d.Code, d.Route, d.Reason)
			}
			return
		}
		read, err := sc1_6Oracle(signed)
		if err != nil {
			t.Fatalf("verifier accepted (route %s) what an independent reader reads otherwise: %v\n%s", d.Route, err, signed)
		}
		if read.target != d.Route {
			t.Fatalf("verifier routes to %s; the independent reader reads target %s\n%s", d.Route, read.target, signed)
		}
	})
}

// scRead is what sc1_6Oracle read of an accepted request.
type scRead struct{ target string }

// sc1_6Oracle reads signed with encoding/xml and says why it is not an
// SR 1.6 to Credit from userSC for one of the failed Supplier's devices
// in the scenario (devA0, devA1, devA2), or nil. Everything under
// ds:Signature is the signature's, not the request's, and is not read.
func sc1_6Oracle(signed []byte) (scRead, error) {
	const sr = "http://www.dccinterface.co.uk/ServiceUserGateway"
	const ds = "http://www.w3.org/2000/09/xmldsig#"
	dec := xml.NewDecoder(bytes.NewReader(signed))
	dec.Strict = true
	var (
		stack    []xml.Name
		count    = map[string]int{}
		text     = map[string]string{}
		elements []string
		inSig    int
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return scRead{}, fmt.Errorf("encoding/xml: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if inSig > 0 || (tok.Name.Space == ds && tok.Name.Local == "Signature") {
				inSig++
				continue
			}
			if tok.Name.Space != sr {
				return scRead{}, fmt.Errorf("element %s in namespace %q", tok.Name.Local, tok.Name.Space)
			}
			stack = append(stack, tok.Name)
			path := pathOf(stack)
			count[path]++
			elements = append(elements, path)
		case xml.EndElement:
			if inSig > 0 {
				inSig--
				continue
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if inSig == 0 && len(stack) > 0 {
				text[pathOf(stack)] += string(tok)
			}
		case xml.Directive:
			return scRead{}, fmt.Errorf("directive <!%s>", tok)
		}
	}
	want := []string{
		"Request", "Request/Header", "Request/Header/RequestID", "Request/Header/CommandVariant",
		"Request/Header/ServiceReference", "Request/Header/ServiceReferenceVariant",
		"Request/Body", "Request/Body/UpdatePaymentMode", "Request/Body/UpdatePaymentMode/Credit",
	}
	optional := "Request/Body/UpdatePaymentMode/ExecutionDateTime"
	for _, e := range elements {
		if count[e] != 1 {
			return scRead{}, fmt.Errorf("%s appears %d times", e, count[e])
		}
		if e != optional && !containsString(want, e) {
			return scRead{}, fmt.Errorf("unexpected element %s", e)
		}
	}
	for _, e := range want {
		if count[e] != 1 {
			return scRead{}, fmt.Errorf("%s missing", e)
		}
	}
	field := func(p string) string { return strings.TrimSpace(text[p]) }
	for p, v := range map[string]string{"Request/Header/CommandVariant": "4", "Request/Header/ServiceReference": "1.6",
		"Request/Header/ServiceReferenceVariant": "1.6", "Request/Body/UpdatePaymentMode/Credit": ""} {
		if field(p) != v {
			return scRead{}, fmt.Errorf("%s is %q, want %q", p, field(p), v)
		}
	}
	parts := strings.Split(field("Request/Header/RequestID"), ":")
	if len(parts) != 3 {
		return scRead{}, fmt.Errorf("RequestID %q", field("Request/Header/RequestID"))
	}
	orig, err1 := eui64.Parse(parts[0])
	target, err2 := eui64.Parse(parts[1])
	if err1 != nil || err2 != nil || orig != userSC {
		return scRead{}, fmt.Errorf("RequestID %q: originator not the SC user", field("Request/Header/RequestID"))
	}
	if target != devA0 && target != devA1 && target != devA2 {
		return scRead{}, fmt.Errorf("target %s is not a device of the failed Supplier", target)
	}
	return scRead{target: target.String()}, nil
}

func pathOf(stack []xml.Name) string {
	var b strings.Builder
	for i, n := range stack {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(n.Local)
	}
	return b.String()
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestSC1_6Oracle holds FuzzSignedRequestDifferential to being able to
// fail: its first seed is accepted and read as the verifier routes it, and
// the oracle reads each of the red team's refused shapes as not an SR 1.6
// to Credit.
func TestSC1_6Oracle(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	credit := request(t, tmplCredit, userSC, devA1, 1)
	d := s.verifier(t, nil).Verify(sign(t, credit, s.sc, false), testNow.Add(time.Minute))
	if !d.Accepted() {
		t.Fatalf("control refused: %s %s", d.Code, d.Reason)
	}
	if read, err := sc1_6Oracle(sign(t, credit, s.sc, false)); err != nil || read.target != d.Route {
		t.Fatalf("oracle on the control: %+v, %v (route %s)", read, err, d.Route)
	}
	for name, msg := range map[string][]byte{
		"prepayment":         request(t, tmplPrepay, userSC, devA1, 1),
		"tariff":             request(t, tmplTariff, userSC, devA1, 1),
		"healthy supplier":   request(t, tmplCredit, userSC, devB, 1),
		"other originator":   request(t, tmplCredit, userA, devA1, 1),
		"credit and prepay":  edit(t, credit, bodyCred, bodyCred+prepay),
		"credit with text":   edit(t, credit, bodyCred, "<sr:Credit>x</sr:Credit>"),
		"foreign element":    edit(t, credit, bodyCred, bodyCred+`<x:Y xmlns:x="urn:x"/>`),
		"second ServiceRef":  edit(t, credit, hdrSRV, hdrSRV+hdrSRV),
		"CV 5":               edit(t, credit, hdrCV4, "<sr:CommandVariant>5</sr:CommandVariant>"),
		"unexpected element": edit(t, credit, bodyCred, bodyCred+"<sr:Extra/>"),
	} {
		if _, err := sc1_6Oracle(sign(t, msg, s.sc, false)); err == nil {
			t.Errorf("%s: oracle reads it as an SR 1.6 to Credit", name)
		}
	}
}
