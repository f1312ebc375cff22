package xmldsig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// sr16 is a Service Request 1.6 (to Credit) written for these tests.
const sr16 = `<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1002</sr:RequestID>
    <sr:CommandVariant>4</sr:CommandVariant>
    <sr:ServiceReference>1.6</sr:ServiceReference>
    <sr:ServiceReferenceVariant>1.6</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body>
    <sr:UpdatePaymentMode>
      <sr:Credit/>
    </sr:UpdatePaymentMode>
  </sr:Body>
</sr:Request>
`

var sigBlockRE = regexp.MustCompile(`(?s)<ds:Signature .*</ds:Signature>`)

func signedSR16(t testing.TB) (string, *ecdsa.PrivateKey) {
	t.Helper()
	key, cert := testCert(t)
	out, err := Sign([]byte(sr16), key, cert, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(out), key
}

func rep(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("mutation target not found: " + old)
		}
		return strings.Replace(s, old, new, 1)
	}
}

func TestAttacks(t *testing.T) {
	t.Parallel()
	base, key := signedSR16(t)
	sigBlock := sigBlockRE.FindString(base)
	noSig := strings.Replace(base, sigBlock, "", 1)
	header := regexp.MustCompile(`(?s)<sr:Header>.*</sr:Header>`).FindString(base)

	// A DER re-encoding of the (valid) raw signature.
	svRE := regexp.MustCompile(`<ds:SignatureValue>([^<]*)</ds:SignatureValue>`)
	raw, _ := base64.StdEncoding.DecodeString(svRE.FindStringSubmatch(base)[1])
	der, _ := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])})
	withSV := func(b []byte) func(string) string {
		return func(s string) string {
			return svRE.ReplaceAllString(s, "<ds:SignatureValue>"+base64.StdEncoding.EncodeToString(b)+"</ds:SignatureValue>")
		}
	}

	deep := strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40)
	var attrs, nsFlood strings.Builder
	for i := 0; i < 20; i++ {
		attrs.WriteString(` a` + string(rune('a'+i)) + `="1"`)
	}
	for i := 0; i < 40; i++ {
		nsFlood.WriteString(`<x xmlns:p` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `="urn:x">`)
	}
	nsFlood.WriteString(strings.Repeat("</x>", 40))
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>`

	body := "    <sr:UpdatePaymentMode>"
	tests := []struct {
		name    string
		mutate  func(string) string
		want    error
		atParse bool // rejected by Parse (shape/policy), before any crypto
	}{
		{"control/valid", func(s string) string { return s }, nil, false},
		// Signature placement and wrapping.
		{"signature not last child", rep("</ds:Signature>", "</ds:Signature><sr:Extra/>"), ErrSignature, true},
		{"text after signature", rep("</ds:Signature>", "</ds:Signature>junk"), ErrSignature, true},
		{"signature nested in Body", func(s string) string {
			return strings.Replace(noSig, body, sigBlock+body, 1)
		}, ErrSignature, true},
		{"signature as root", func(string) string { return sigBlock }, ErrSignature, true},
		{"two signatures", rep("<sr:Body>", "<sr:Body>"+sigBlock), ErrSignature, true},
		{"forged Header in ds:Object", rep("</ds:KeyInfo>", "</ds:KeyInfo><ds:Object>"+header+"</ds:Object>"), ErrSignature, true},
		{"Manifest", rep("</ds:KeyInfo>", "</ds:KeyInfo><ds:Manifest/>"), ErrSignature, true},
		{"foreign element in KeyInfo", rep("</ds:X509Data>", "</ds:X509Data><sr:Header/>"), ErrSignature, true},
		{"foreign element in SignedInfo", rep("</ds:Reference>", "</ds:Reference><ds:Reference URI=\"\"/>"), ErrSignature, true},
		{"ds prefix rebound", rep(`<ds:Signature xmlns:ds="`+NamespaceDS+`"`, `<ds:Signature xmlns:ds="urn:fake"`), ErrSignature, true},
		{"Id attribute", rep("<ds:Signature ", `<ds:Signature Id="x" `), ErrSignature, true},
		// Inside the signature each element's namespace is checked (by its
		// interned index, scanner.isDS), not its prefix.
		{"SignedInfo in another namespace", rep("<ds:SignedInfo>", `<ds:SignedInfo xmlns:ds="urn:fake">`), ErrSignature, true},
		{"X509Data in another namespace", rep("<ds:X509Data>", `<ds:X509Data xmlns:ds="urn:fake">`), ErrSignature, true},
		{"X509IssuerSerial in another namespace", rep("<ds:X509IssuerSerial>", `<ds:X509IssuerSerial xmlns:ds="urn:fake">`), ErrSignature, true},
		// Parsed as ds (namespace, not prefix), then fails on the signature.
		{"ds by the default namespace", rep(`<ds:SignatureMethod Algorithm="`+AlgECDSA256+`"/>`, `<SignatureMethod xmlns="`+NamespaceDS+`" Algorithm="`+AlgECDSA256+`"/>`), ErrSignature, false},
		{"no signature", func(string) string { return noSig }, ErrSignature, true},
		// Comments, PIs, text splitting.
		{"comment injection", rep(">1.6</sr:ServiceReferenceVariant>", ">1.<!-- -->6</sr:ServiceReferenceVariant>"), ErrMalformed, true},
		{"comment in signature", rep("<ds:SignedInfo>", "<ds:SignedInfo><!--x-->"), ErrMalformed, true},
		{"processing instruction", rep("<sr:Body>", "<sr:Body><?evil x?>"), ErrMalformed, true},
		{"PI after root", func(s string) string { return s + "<?evil?>" }, ErrMalformed, true},
		// Signature value encodings.
		{"DER signature value", withSV(der), ErrSignature, true},
		{"63-byte signature value", withSV(raw[:63]), ErrSignature, true},
		{"signature value not base64", withSV(nil), ErrSignature, true},
		{"high-S twin still verifies (replay keys on RequestID)", withSV(highS(raw)), nil, false},
		{"zero signature", withSV(make([]byte, 64)), ErrSignature, false},
		// Algorithm policy.
		{"rsa-sha1", rep(AlgECDSA256, "http://www.w3.org/2000/09/xmldsig#rsa-sha1"), ErrSignature, true},
		{"rsa-sha256", rep(AlgECDSA256, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"), ErrSignature, true},
		{"hmac-sha1", rep(AlgECDSA256, "http://www.w3.org/2000/09/xmldsig#hmac-sha1"), ErrSignature, true},
		{"ecdsa-sha1", rep(AlgECDSA256, "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"), ErrSignature, true},
		{"sha1 digest", rep(AlgSHA256, "http://www.w3.org/2000/09/xmldsig#sha1"), ErrSignature, true},
		{"inclusive c14n", rep(`<ds:CanonicalizationMethod Algorithm="`+AlgExcC14N, `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315`), ErrSignature, true},
		{"c14n with comments", rep(`<ds:CanonicalizationMethod Algorithm="`+AlgExcC14N, `<ds:CanonicalizationMethod Algorithm="`+AlgExcC14N+`WithComments`), ErrSignature, true},
		{"InclusiveNamespaces", rep(`<ds:CanonicalizationMethod Algorithm="`+AlgExcC14N+`"/>`, `<ds:CanonicalizationMethod Algorithm="`+AlgExcC14N+`"><ec:InclusiveNamespaces xmlns:ec="`+AlgExcC14N+`" PrefixList="sr"/></ds:CanonicalizationMethod>`), ErrSignature, true},
		{"xpath transform", rep(`Algorithm="`+AlgEnveloped+`"/>`, `Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>1</ds:XPath></ds:Transform>`), ErrSignature, true},
		{"xslt transform", rep(`<ds:Transform Algorithm="`+AlgEnveloped+`"/>`, `<ds:Transform Algorithm="`+AlgEnveloped+`"/><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/>`), ErrSignature, true},
		{"three transforms", rep(`<ds:Transform Algorithm="`+AlgEnveloped+`"/>`, `<ds:Transform Algorithm="`+AlgEnveloped+`"/><ds:Transform Algorithm="`+AlgExcC14N+`"/><ds:Transform Algorithm="`+AlgExcC14N+`"/>`), ErrSignature, true},
		{"no enveloped transform", rep(`<ds:Transform Algorithm="`+AlgEnveloped+`"/>`, `<ds:Transform Algorithm="`+AlgExcC14N+`"/>`), ErrSignature, true},
		{"no transforms", rep(`<ds:Transform Algorithm="`+AlgEnveloped+`"/>`, ``), ErrSignature, true},
		{"extra reference", rep(`</ds:Reference>`, `</ds:Reference><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="`+AlgEnveloped+`"/></ds:Transforms><ds:DigestMethod Algorithm="`+AlgSHA256+`"/><ds:DigestValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</ds:DigestValue></ds:Reference>`), ErrSignature, true},
		{"reference by id", rep(`URI=""`, `URI="#x"`), ErrSignature, true},
		{"external reference", rep(`URI=""`, `URI="http://example.com/"`), ErrSignature, true},
		{"short digest", reRep(`<ds:DigestValue>[^<]*`, "<ds:DigestValue>AAAA"), ErrSignature, true},
		{"KeyValue", rep("<ds:KeyInfo>", "<ds:KeyInfo><ds:KeyValue><ds:ECKeyValue/></ds:KeyValue>"), ErrSignature, true},
		{"KeyInfo without X509Data", reRep(`<ds:X509Data>.*</ds:X509Data>`, ""), ErrSignature, true},
		{"no KeyInfo", reRep(`<ds:KeyInfo>.*</ds:KeyInfo>`, ""), ErrSignature, true},
		{"negative serial", reRep(`<ds:X509SerialNumber>`, "<ds:X509SerialNumber>-"), ErrSignature, true},
		// Content changes after signing.
		{"content changed", rep("<sr:Credit/>", "<sr:Prepayment/>"), ErrSignature, false},
		{"whitespace changed", rep("<sr:Body>\n", "<sr:Body>\n "), ErrSignature, false},
		{"namespace added on root", rep(`schemaVersion="5.4"`, `xmlns:x="urn:x" schemaVersion="5.4"`), ErrSignature, false},
		// Well-formedness, DTDs, entities.
		{"DTD", func(s string) string { return strings.Replace(s, "?>\n", "?>\n<!DOCTYPE sr:Request>", 1) }, ErrMalformed, true},
		{"billion laughs", func(string) string { return laughs }, ErrMalformed, true},
		{"external entity", func(s string) string {
			return strings.Replace(strings.Replace(s, "?>\n", "?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>", 1), ">1.6</sr:ServiceReference>", ">&xxe;</sr:ServiceReference>", 1)
		}, ErrMalformed, true},
		{"undefined entity", rep(">1.6</sr:ServiceReference>", ">&xxe;</sr:ServiceReference>"), ErrMalformed, true},
		{"bad char ref", rep(">1.6</sr:ServiceReference>", ">&#0;</sr:ServiceReference>"), ErrMalformed, true},
		{"control char", rep("1.6</sr:ServiceReference>", "1.6\x01</sr:ServiceReference>"), ErrMalformed, true},
		{"invalid UTF-8", rep("1.6</sr:ServiceReference>", "1.6\xff</sr:ServiceReference>"), ErrMalformed, true},
		{"mismatched tags", rep("</sr:Header>", "</sr:Body>"), ErrMalformed, true},
		{"truncated", func(s string) string { return s[:len(s)/2] }, ErrMalformed, true},
		{"undeclared prefix", rep("<sr:Body>", "<zz:Body>"), ErrMalformed, true},
		{"duplicate attribute", rep(`schemaVersion="5.4"`, `schemaVersion="5.4" schemaVersion="5.5"`), ErrMalformed, true},
		{"second root", func(s string) string { return s + "<x/>" }, ErrMalformed, true},
		{"encoding latin1", rep(`encoding="UTF-8"`, `encoding="ISO-8859-1"`), ErrMalformed, true},
		// Resource limits.
		{"deep nesting", rep("<sr:Body>", "<sr:Body>"+deep), ErrMalformed, true},
		{"attribute flood", rep("<sr:Body>", "<sr:Body"+attrs.String()+">"), ErrMalformed, true},
		{"namespace flood", rep("<sr:Body>", "<sr:Body>"+nsFlood.String()), ErrMalformed, true},
		{"element flood", rep("<sr:Body>", "<sr:Body>"+strings.Repeat("<e/>", 5000)), ErrMalformed, true},
		{"text/CDATA alternation (no quadratic merge)", rep("<sr:Body>", "<sr:Body>"+strings.Repeat("a<![CDATA[b]]>", 70000)), ErrSignature, false},
		{"oversized", rep("<sr:Body>", "<sr:Body>"+strings.Repeat(" ", 1<<20)), ErrMalformed, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := []byte(tc.mutate(base))
			d, err := Parse(doc, DefaultLimits())
			if tc.atParse {
				if !errors.Is(err, tc.want) {
					t.Fatalf("Parse error %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			root, canonical, err := d.Verify(&key.PublicKey)
			if tc.want == nil {
				if err != nil || root == nil || len(canonical) == 0 {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || root != nil || canonical != nil {
				t.Fatalf("Verify error %v (root %v), want %v", err, root != nil, tc.want)
			}
		})
	}

	// Wrong and non-P-256 keys.
	d, err := Parse([]byte(base), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := testCert(t)
	if _, _, err := d.Verify(&other.PublicKey); !errors.Is(err, ErrSignature) {
		t.Fatalf("wrong key: %v", err)
	}
	//lint:ignore SA1019 an invalid key on purpose: P-256 coordinates under the P-384 curve
	if _, _, err := d.Verify(&ecdsa.PublicKey{Curve: elliptic.P384(), X: key.X, Y: key.Y}); !errors.Is(err, ErrSignature) {
		t.Fatalf("P-384 key: %v", err)
	}
	if _, _, err := d.Verify(nil); !errors.Is(err, ErrSignature) {
		t.Fatalf("nil key: %v", err)
	}
}

func reRep(re, repl string) func(string) string {
	return func(s string) string { return regexp.MustCompile(re).ReplaceAllLiteralString(s, repl) }
}

// highS returns the other valid signature (r, N-s) of the same message.
func highS(raw []byte) []byte {
	n := elliptic.P256().Params().N
	s := new(big.Int).Sub(n, new(big.Int).SetBytes(raw[32:]))
	out := append([]byte(nil), raw[:32]...)
	return append(out, s.FillBytes(make([]byte, 32))...)
}

// Limits are enforced per field, and zero fields mean the default.
func TestLimits(t *testing.T) {
	t.Parallel()
	base, _ := signedSR16(t)
	doc := []byte(base)
	tests := []struct {
		name string
		lim  Limits
		ok   bool
	}{
		{"defaults", Limits{}, true},
		{"bytes", Limits{MaxBytes: len(doc) - 1}, false},
		{"bytes exact", Limits{MaxBytes: len(doc)}, true},
		{"depth", Limits{MaxDepth: 5}, false}, // ds:X509IssuerName is at depth 6
		{"depth exact", Limits{MaxDepth: 6}, true},
		{"attrs", Limits{MaxAttrs: 2}, false},
		{"ns decls", Limits{MaxNSDecls: 2}, false},
		{"elements", Limits{MaxElements: 20}, false},
	}
	for _, tc := range tests {
		_, err := Parse(doc, tc.lim)
		if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, ErrMalformed)) {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
}
