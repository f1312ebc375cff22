package xmldsig

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// Red-team (h13). The attacker holds a trusted signing key and signs a
// document built to be read one way by the digest and another by the
// reader; or edits the unsigned parts after signing. What the caller reads
// (the Element tree) must be exactly what an independent XML processor
// (encoding/xml, a test oracle only) reads from the same bytes, and
// anything ill-formed must fail closed.

const nsSR = "http://www.dccinterface.co.uk/ServiceUserGateway"

// oracleTree renders a document as encoding/xml reads it: one line per
// element, {space}local, sorted-as-written attributes and direct text.
func oracleTree(t *testing.T, doc []byte) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		head string
		text strings.Builder
		kids []string
	}
	var stack []*frame
	var out string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("oracle: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if len(stack) == 1 && tk.Name.Space == NamespaceDS && tk.Name.Local == "Signature" {
				// The enveloped signature is not part of what is read.
				if err := dec.Skip(); err != nil {
					t.Fatal(err)
				}
				continue
			}
			head := "{" + tk.Name.Space + "}" + tk.Name.Local
			for _, a := range tk.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				space := a.Name.Space
				if space == "xml" {
					space = nsXML
				}
				head += fmt.Sprintf(" @{%s}%s=%q", space, a.Name.Local, a.Value)
			}
			stack = append(stack, &frame{head: head})
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(tk)
			}
		case xml.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			s := f.head + fmt.Sprintf(" text=%q", f.text.String()) + "\n" + strings.Join(f.kids, "")
			if len(stack) == 0 {
				out = s
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, indent(s))
			}
		}
	}
	return out
}

func indent(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "")
}

func renderTree(e *Element) string {
	head := "{" + e.Space + "}" + e.Local
	for _, a := range e.Attrs {
		head += fmt.Sprintf(" @{%s}%s=%q", a.Space, a.Local, a.Value)
	}
	s := head + fmt.Sprintf(" text=%q", e.Text) + "\n"
	for _, c := range e.Children {
		s += indent(renderTree(c))
	}
	return s
}

// Signed documents with namespace, whitespace and encoding tricks: each
// must verify, and the tree must match the oracle's reading exactly.
func TestRedTeamReaderMatchesOracle(t *testing.T) {
	t.Parallel()
	key, cert := testCert(t)
	long := strings.Repeat("A", 900_000)
	tests := []struct{ attack, mutate, with string }{
		{"control", "", ""},
		{"sr prefix rebound on Header", "<sr:Header>", `<sr:Header xmlns:sr="urn:evil">`},
		{"sr prefix rebound on Body to the real namespace", "<sr:Body>", `<sr:Body xmlns:sr="` + nsSR + `">`},
		{"default namespace = sr on Body", "<sr:Body>\n    <sr:UpdatePaymentMode>\n      <sr:Credit/>\n    </sr:UpdatePaymentMode>\n  </sr:Body>",
			`<Body xmlns="` + nsSR + `"><UpdatePaymentMode><Credit/></UpdatePaymentMode></Body>`},
		{"default namespace other, sr-looking local names", "<sr:Credit/>", `<Credit xmlns="urn:evil"/>`},
		{"default namespace undeclared inside", "<sr:Credit/>", `<sr:Credit xmlns=""><Prepayment/></sr:Credit>`},
		{"ds-namespace attribute on Header", "<sr:Header>", `<sr:Header xmlns:ds="` + NamespaceDS + `" ds:Id="h">`},
		{"xml:space and xml:lang attributes", "<sr:RequestID>", `<sr:RequestID xml:space="preserve" xml:lang="en">`},
		{"character references in values", ">1.6</sr:ServiceReferenceVariant>", ">&#x31;&#46;&#54;</sr:ServiceReferenceVariant>"},
		{"CDATA in a Header value", ">4</sr:CommandVariant>", "><![CDATA[4]]></sr:CommandVariant>"},
		{"CDATA split value", ">1.6</sr:ServiceReference>", ">1<![CDATA[.]]>6</sr:ServiceReference>"},
		{"literal CRLF in a value", ">4</sr:CommandVariant>", ">4\r\n</sr:CommandVariant>"},
		{"lone CR in a value", ">4</sr:CommandVariant>", ">\r4</sr:CommandVariant>"},
		{"CR as a character reference", ">4</sr:CommandVariant>", ">4&#13;</sr:CommandVariant>"},
		{"CRLF everywhere", "\n", "\r\n"},
		// Literal tab/newline in attribute values become spaces (XML 1.0
		// 3.3.3), which the reader does and encoding/xml does not, so only
		// the character-reference form is compared here.
		{"char refs in attribute value", `schemaVersion="5.4"`, "schemaVersion=\"5.4\"  a=\"x&#10;y&#9;z\""},
		{"entity-escaped markup in text", ">4</sr:CommandVariant>", ">&lt;sr:CommandVariant&gt;5&lt;/sr:CommandVariant&gt;</sr:CommandVariant>"},
		{"greater-than in text", ">4</sr:CommandVariant>", ">4></sr:CommandVariant>"},
		{"non-ASCII text", ">4</sr:CommandVariant>", ">४</sr:CommandVariant>"},
		{"standalone declaration", `encoding="UTF-8"?>`, `encoding="UTF-8" standalone="yes"?>`},
		{"single-quoted declaration", `<?xml version="1.0" encoding="UTF-8"?>`, `<?xml version='1.0' encoding='utf-8'?>`},
		{"no declaration", `<?xml version="1.0" encoding="UTF-8"?>` + "\n", ""},
		{"very long text node", "<sr:Credit/>", "<sr:Credit>" + long + "</sr:Credit>"},
	}
	for _, tc := range tests {
		t.Run(tc.attack, func(t *testing.T) {
			t.Parallel()
			doc := sr16
			if tc.mutate != "" {
				if !strings.Contains(doc, tc.mutate) {
					t.Fatalf("mutation target %q not found", tc.mutate)
				}
				doc = strings.ReplaceAll(doc, tc.mutate, tc.with)
			} else if tc.with != "" {
				t.Fatal("bad case")
			}
			if tc.attack == "no declaration" {
				doc = strings.Replace(sr16, `<?xml version="1.0" encoding="UTF-8"?>`+"\n", "", 1)
			}
			signed, err := Sign([]byte(doc), key, cert, SignOptions{})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			d, err := Parse(signed, DefaultLimits())
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			root, _, err := d.Verify(&key.PublicKey)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, want := renderTree(root), oracleTree(t, signed)
			if got != want {
				t.Fatalf("reader and oracle disagree\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

// Ill-formed or out-of-profile documents, signed or edited after signing:
// each must be refused with the stated code (or, where the edit is
// outside what the signature covers and harmless, verify unchanged).
func TestRedTeamParseRejects(t *testing.T) {
	t.Parallel()
	base, key := signedSR16(t)
	bom := "\xEF\xBB\xBF"
	tests := []struct {
		attack string
		doc    func(string) string
		want   error // nil: Parse and Verify succeed
	}{
		{"UTF-8 BOM (allowed by XML; same bytes digested)", func(s string) string { return bom + s }, nil},
		{"two BOMs", func(s string) string { return bom + bom + s }, ErrMalformed},
		{"UTF-16 declaration", rep(`encoding="UTF-8"`, `encoding="UTF-16"`), ErrMalformed},
		{"UTF-16LE bytes", func(s string) string {
			var b strings.Builder
			b.WriteString("\xFF\xFE")
			for _, r := range s {
				b.WriteByte(byte(r))
				b.WriteByte(0)
			}
			return b.String()
		}, ErrMalformed},
		{"XML 1.1 (NEL and LS are line ends there)", rep(`version="1.0"`, `version="1.1"`), ErrMalformed},
		{"NEL in a value", rep(">4</sr:CommandVariant>", ">4\u0085</sr:CommandVariant>"), ErrSignature},
		{"whitespace before the declaration", func(s string) string { return " " + s }, ErrMalformed},
		{"declaration not first", rep(`<?xml version="1.0" encoding="UTF-8"?>`, `<?xml version="1.0" encoding="UTF-8"?><?xml version="1.0"?>`), ErrMalformed},
		{"undeclaring the sr prefix (not XML 1.0)", rep("<sr:Body>", `<sr:Body xmlns:sr="">`), ErrMalformed},
		{"rebinding the xml prefix", rep("<sr:Body>", `<sr:Body xmlns:xml="urn:evil">`), ErrMalformed},
		{"binding a prefix to the xml namespace", rep("<sr:Body>", `<sr:Body xmlns:x="`+nsXML+`">`), ErrMalformed},
		{"declaring the xmlns prefix", rep("<sr:Body>", `<sr:Body xmlns:xmlns="urn:evil">`), ErrMalformed},
		{"binding the xmlns namespace", rep("<sr:Body>", `<sr:Body xmlns:x="`+nsXMLNS+`">`), ErrMalformed},
		{"duplicate attribute via two prefixes for one URI", rep("<sr:Body>", `<sr:Body xmlns:a="urn:x" xmlns:b="urn:x" a:v="1" b:v="2">`), ErrMalformed},
		{"]]> in character data", rep(">4</sr:CommandVariant>", ">4]]></sr:CommandVariant>"), ErrMalformed},
		{"< in attribute value", rep(`schemaVersion="5.4"`, `schemaVersion="5<4"`), ErrMalformed},
		{"unterminated CDATA", rep(">4</sr:CommandVariant>", "><![CDATA[4</sr:CommandVariant>"), ErrMalformed},
		{"surrogate char ref", rep(">4</sr:CommandVariant>", ">&#xD800;</sr:CommandVariant>"), ErrMalformed},
		{"char ref beyond Unicode", rep(">4</sr:CommandVariant>", ">&#x110000;</sr:CommandVariant>"), ErrMalformed},
		{"U+FFFE", rep(">4</sr:CommandVariant>", ">\uFFFE</sr:CommandVariant>"), ErrMalformed},
		{"overlong UTF-8", rep(">4</sr:CommandVariant>", ">\xC0\xB4</sr:CommandVariant>"), ErrMalformed},
		{"NUL byte", rep(">4</sr:CommandVariant>", ">4\x00</sr:CommandVariant>"), ErrMalformed},
		// Edits inside the enveloped Signature (cut out of the digest).
		{"xmlns:sr on Signature (unused there; harmless)", rep("<ds:Signature ", `<ds:Signature xmlns:sr="urn:evil" `), nil},
		{"default namespace on Signature (harmless)", rep("<ds:Signature ", `<ds:Signature xmlns="urn:evil" `), nil},
		{"ds-namespace attribute on Signature", rep("<ds:Signature ", `<ds:Signature ds:Id="x" `), ErrSignature},
		{"xml:id on Signature", rep("<ds:Signature ", `<ds:Signature xml:id="x" `), ErrSignature},
		{"Signature in a rebound ds prefix, real one elsewhere", rep("<ds:Signature xmlns:ds=\""+NamespaceDS+"\"", `<ds:Signature xmlns:ds="urn:fake" xmlns:dsx="`+NamespaceDS+`"`), ErrSignature},
		{"sr element inside SignedInfo", rep("<ds:SignedInfo>", `<ds:SignedInfo><sr:Body/>`), ErrSignature},
		{"text inside SignedInfo", rep("<ds:SignedInfo>", `<ds:SignedInfo>x`), ErrSignature},
		{"attribute on Reference besides URI", rep(`<ds:Reference URI=""`, `<ds:Reference Type="x" URI=""`), ErrSignature},
		{"whitespace-only URI", rep(`URI=""`, `URI=" "`), ErrSignature},
		{"second X509IssuerSerial", rep("</ds:X509IssuerSerial>", "</ds:X509IssuerSerial><ds:X509IssuerSerial><ds:X509IssuerName>CN=Z1</ds:X509IssuerName><ds:X509SerialNumber>1</ds:X509SerialNumber></ds:X509IssuerSerial>"), ErrSignature},
	}
	for _, tc := range tests {
		t.Run(tc.attack, func(t *testing.T) {
			t.Parallel()
			d, err := Parse([]byte(tc.doc(base)), DefaultLimits())
			if err == nil {
				_, _, err = d.Verify(&key.PublicKey)
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
