package testpki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/xml"
	"errors"
	"io"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/verifier/duis"
	"github.com/smki/smki/verifier/xmldsig"
)

// signer returns a P-256 key and a self-signed certificate for it: enough
// for xmldsig.Sign, which needs only a key that matches the certificate.
func signer(t *testing.T) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: "demo test"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

var (
	testOrig   = eui64.MustParse("90-B3-D5-1F-30-05-00-00")
	testTarget = eui64.MustParse("00-DB-12-34-56-78-90-A3")
)

// TestRequestRoundTrip: what the builder writes and Sign signs is read
// back by the verifier's own parsers (signature, then DUIS fields) as the
// request that was asked for.
func TestRequestRoundTrip(t *testing.T) {
	t.Parallel()
	key, cert := signer(t)
	exec := time.Date(2026, 3, 1, 2, 3, 4, 0, time.UTC)
	tests := []struct {
		name    string
		req     Request
		cv      int
		sr, srv string
		mode    duis.PaymentMode
		gbcs    []byte // the GBCSPayload of a Command Variant 5 request
	}{
		{"credit", Request{Originator: testOrig, Target: testTarget, Counter: 7, Body: Credit}, 4, "1.6", "1.6", duis.PaymentCredit, nil},
		{"prepayment", Request{Originator: testOrig, Target: testTarget, Counter: 8, Body: Prepayment}, 4, "1.6", "1.6", duis.PaymentPrepayment, nil},
		{"credit future-dated", Request{Originator: testOrig, Target: testTarget, Counter: 9, Body: Credit, ExecutionDateTime: exec}, 4, "1.6", "1.6", duis.PaymentCredit, nil},
		{"read registers", Request{Originator: testOrig, Target: testTarget, Counter: 1<<64 - 1, Body: ReadImportRegisters}, 1, "4.1", "4.1.1", duis.PaymentNone, nil},
		{"any SRV, critical", Request{Originator: testOrig, Target: testTarget, Counter: 10, SRV: "2.3"}, 4, "2.3", "2.3", duis.PaymentNone, nil},
		{"any SRV, three parts", Request{Originator: testOrig, Target: testTarget, Counter: 11, SRV: "4.4.2"}, 1, "4.4", "4.4.2", duis.PaymentNone, nil},
		{"signed pre-command", Request{Originator: testOrig, Target: testTarget, Counter: 12, Body: SignedPreCommand, GBCSPayload: []byte{0xDF, 9, 1, 0, 0xFF}},
			5, "1.6", "1.6", duis.PaymentNone, []byte{0xDF, 9, 1, 0, 0xFF}},
		{"signed pre-command future-dated", Request{Originator: testOrig, Target: testTarget, Counter: 13, Body: SignedPreCommand, GBCSPayload: []byte{1}, ExecutionDateTime: exec},
			5, "1.6", "1.6", duis.PaymentNone, []byte{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			signed, err := tt.req.Sign(key, cert)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := xmldsig.Parse(signed, xmldsig.Limits{})
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, signed)
			}
			root, _, err := doc.Verify(key.Public().(*ecdsa.PublicKey))
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			got, err := duis.FromElement(root)
			if err != nil {
				t.Fatalf("DUIS: %v", err)
			}
			if got.ID.Originator != tt.req.Originator || got.ID.Target != tt.req.Target || got.ID.Counter != tt.req.Counter {
				t.Errorf("RequestID %+v, want %s", got.ID, tt.req.RequestID())
			}
			if got.CommandVariant != tt.cv || got.ServiceReference != tt.sr || got.ServiceReferenceVariant != tt.srv {
				t.Errorf("header CV %d SR %s SRV %s, want %d %s %s", got.CommandVariant, got.ServiceReference,
					got.ServiceReferenceVariant, tt.cv, tt.sr, tt.srv)
			}
			if got.PaymentMode != tt.mode {
				t.Errorf("payment mode %s, want %s", got.PaymentMode, tt.mode)
			}
			if !bytes.Equal(got.GBCSPayload, tt.gbcs) {
				t.Errorf("GBCSPayload % X, want % X", got.GBCSPayload, tt.gbcs)
			}
			if (tt.mode != duis.PaymentNone || tt.gbcs != nil) && !got.ExecutionDateTime.Equal(tt.req.ExecutionDateTime) {
				t.Errorf("ExecutionDateTime %s, want %s", got.ExecutionDateTime, tt.req.ExecutionDateTime)
			}
		})
	}
}

// TestRequestRefused: the builder writes nothing for a request it cannot
// express.
func TestRequestRefused(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]Request{
		"zero originator":  {Target: testTarget, Body: Credit},
		"zero target":      {Originator: testOrig, Body: Credit},
		"no body":          {Originator: testOrig, Target: testTarget},
		"unknown body":     {Originator: testOrig, Target: testTarget, Body: 99},
		"unknown SRV":      {Originator: testOrig, Target: testTarget, SRV: "99.9"},
		"1.6 by SRV":       {Originator: testOrig, Target: testTarget, SRV: "1.6"},
		"no GBCS payload":  {Originator: testOrig, Target: testTarget, Body: SignedPreCommand},
		"GBCS without CV5": {Originator: testOrig, Target: testTarget, Body: Credit, GBCSPayload: []byte{1}},
	} {
		if out, err := r.XML(); !errors.Is(err, ErrRequest) || out != nil {
			t.Errorf("%s: got %q, %v; want nothing and ErrRequest", name, out, err)
		}
	}
}

// TestTamperAndDTD: the two hostile variants the demo sends fail where the
// verifier must stop them: a tampered request at the signature, a request
// with a DTD before any cryptography. The untouched original still
// verifies, so the failures are the variants' own.
func TestTamperAndDTD(t *testing.T) {
	t.Parallel()
	key, cert := signer(t)
	pub := key.Public().(*ecdsa.PublicKey)
	signed, err := Request{Originator: testOrig, Target: testTarget, Counter: 19, Body: Credit}.Sign(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := xmldsig.Parse(signed, xmldsig.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := doc.Verify(pub); err != nil {
		t.Fatalf("original: %v", err)
	}

	tampered, err := Tamper(signed)
	if err != nil {
		t.Fatal(err)
	}
	if len(tampered) != len(signed) || string(tampered) == string(signed) {
		t.Fatal("Tamper must change one byte in place")
	}
	doc, err = xmldsig.Parse(tampered, xmldsig.Limits{})
	if err != nil {
		t.Fatalf("tampered request no longer parses: %v", err)
	}
	if _, _, err := doc.Verify(pub); !errors.Is(err, xmldsig.ErrSignature) {
		t.Fatalf("tampered request: %v, want SIG", err)
	}

	dtd, err := WithDTD(signed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xmldsig.Parse(dtd, xmldsig.Limits{}); !errors.Is(err, xmldsig.ErrMalformed) {
		t.Fatalf("request with a DTD: %v, want MALFORMED", err)
	}

	for _, bad := range [][]byte{[]byte("<x/>"), []byte("<sr:Request><sr:RequestID>a:b:c</sr:RequestID>")} {
		if _, err := Tamper(bad); !errors.Is(err, ErrRequest) {
			t.Errorf("Tamper(%q): %v, want ErrRequest", bad, err)
		}
	}
	if _, err := WithDTD([]byte("<x/>")); !errors.Is(err, ErrRequest) {
		t.Errorf("WithDTD without sr:Request: %v", err)
	}
}

// TestRequestMatchesDCCSamples: the builder writes the same elements, in
// the same order and namespace, with the same Command Variant and Service
// Reference (Variant), as DCC's own DUIS samples of these requests (when
// the conformance data is here; the DUIS 5.4 schema itself does not
// compile without DCC's response schema, so the samples are the oracle).
func TestRequestMatchesDCCSamples(t *testing.T) {
	t.Parallel()
	key, cert := signer(t)
	for _, tt := range []struct {
		sample string
		body   Body
	}{
		{"ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", Credit},
		{"ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", Prepayment},
		{"ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML", ReadImportRegisters},
	} {
		raw, err := os.ReadFile(conformance.Path(t, "duis", "requests", tt.sample))
		if err != nil {
			t.Fatal(err)
		}
		want, wantHdr := shape(t, raw)
		req := Request{Originator: testOrig, Target: testTarget, Counter: 1, Body: tt.body}
		if slices.Contains(want, "ExecutionDateTime") {
			req.ExecutionDateTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		}
		signed, err := req.Sign(key, cert)
		if err != nil {
			t.Fatal(err)
		}
		got, gotHdr := shape(t, signed)
		if !slices.Equal(got, want) {
			t.Errorf("%s: elements\n got %v\nwant %v", tt.body, got, want)
		}
		for _, k := range []string{"CommandVariant", "ServiceReference", "ServiceReferenceVariant"} {
			if gotHdr[k] != wantHdr[k] {
				t.Errorf("%s: %s = %q, DCC's sample has %q", tt.body, k, gotHdr[k], wantHdr[k])
			}
		}
	}
}

// shape lists the sr: elements of a request in document order (the
// signature left out) and the text of its header fields.
func shape(t *testing.T, data []byte) ([]string, map[string]string) {
	t.Helper()
	const sr = "http://www.dccinterface.co.uk/ServiceUserGateway"
	dec := xml.NewDecoder(bytes.NewReader(data))
	var names []string
	hdr := map[string]string{}
	var cur string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return names, hdr
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			cur = ""
			if tok.Name.Space == sr {
				names = append(names, tok.Name.Local)
				cur = tok.Name.Local
			}
		case xml.CharData:
			if cur != "" {
				hdr[cur] += strings.TrimSpace(string(tok))
			}
		case xml.EndElement:
			cur = ""
		}
	}
}
