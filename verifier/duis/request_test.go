package duis

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/verifier/xmldsig"
)

func signer(t testing.TB) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "Z1", OrganizationalUnit: []string{"07"}},
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2120, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// verified signs doc and returns the tree Verify hands out, the only input
// FromElement is meant for.
func verified(t testing.TB, doc []byte) *xmldsig.Element {
	t.Helper()
	key, cert := signer(t)
	signed, err := xmldsig.Sign(doc, key, cert, xmldsig.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := xmldsig.Parse(signed, xmldsig.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := d.Verify(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// Every DUIS request template reads; SR 1.6 ones give the payment mode
// their use case (ECS02/GCS02 Credit, ECS03/GCS03 Prepayment) says.
func TestTemplates(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(conformance.Path(t, "duis", "requests", "*.XML"))
	if err != nil || len(files) < 20 {
		t.Fatalf("templates: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		req, err := FromElement(verified(t, data))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if req.ID.Originator.IsZero() || req.ID.Target.IsZero() || req.Body == nil {
			t.Errorf("%s: header %+v", name, req.ID)
		}
		want := PaymentNone
		switch {
		case strings.HasPrefix(name, "ECS02_1.6"), strings.HasPrefix(name, "GCS02_1.6"):
			want = PaymentCredit
		case strings.HasPrefix(name, "ECS03_1.6"), strings.HasPrefix(name, "GCS03_1.6"):
			want = PaymentPrepayment
		}
		if req.PaymentMode != want {
			t.Errorf("%s: payment mode %v, want %v", name, req.PaymentMode, want)
		}
		if want != PaymentNone && (req.ServiceReferenceVariant != "1.6" || req.CommandVariant != 4) {
			t.Errorf("%s: SRV %s CV %d", name, req.ServiceReferenceVariant, req.CommandVariant)
		}
		if strings.Contains(name, "_1.6_FUTURE_DATED") && req.ExecutionDateTime.IsZero() {
			t.Errorf("%s: no ExecutionDateTime", name)
		}
		if strings.Contains(name, "_1.6_IMMEDIATE") && !req.ExecutionDateTime.IsZero() {
			t.Errorf("%s: unexpected ExecutionDateTime", name)
		}
	}
}

const (
	hdrFmt = `<sr:Header><sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1002</sr:RequestID>` +
		`<sr:CommandVariant>CV</sr:CommandVariant><sr:ServiceReference>1.6</sr:ServiceReference>` +
		`<sr:ServiceReferenceVariant>1.6</sr:ServiceReferenceVariant></sr:Header>`
	credit     = `<sr:UpdatePaymentMode><sr:Credit/></sr:UpdatePaymentMode>`
	prepayment = `<sr:UpdatePaymentMode><sr:ExecutionDateTime>2030-01-15T09:00:00.00Z</sr:ExecutionDateTime><sr:Prepayment>` +
		`<sr:SuspendDebtDisabled>true</sr:SuspendDebtDisabled><sr:SuspendDebtEmergency>0</sr:SuspendDebtEmergency>` +
		`<sr:DisablementThreshold>-5</sr:DisablementThreshold></sr:Prepayment></sr:UpdatePaymentMode>`
	preCmd = `<sr:SignedPreCommand><sr:ExecutionDateTime>2030-01-15T09:00:00+01:00</sr:ExecutionDateTime>` +
		`<sr:GBCSPayload>3QAAAAAA
		AFUR</sr:GBCSPayload></sr:SignedPreCommand>`
)

func request(cv, header, body string) string {
	if header == "" {
		header = strings.Replace(hdrFmt, "CV", cv, 1)
	}
	return `<sr:Request xmlns:sr="` + Namespace + `" schemaVersion="5.4">` + header + `<sr:Body>` + body + `</sr:Body></sr:Request>`
}

func TestFromElement(t *testing.T) {
	t.Parallel()
	exec := time.Date(2030, 1, 15, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		doc  string
		ok   bool
		mode PaymentMode
		cv   int
		gbcs string
		exec time.Time
	}{
		{"credit", request("4", "", credit), true, PaymentCredit, 4, "", time.Time{}},
		{"prepayment", request("4", "", prepayment), true, PaymentPrepayment, 4, "", exec},
		{"signed pre-command", request("5", "", preCmd), true, PaymentNone, 5, "\xdd\x00\x00\x00\x00\x00\x00\x55\x11", exec.Add(-time.Hour)},
		{"CV 7 pre-command", request("7", "", preCmd), true, PaymentNone, 7, "\xdd\x00\x00\x00\x00\x00\x00\x55\x11", exec.Add(-time.Hour)},
		{"other SRV", request("1", strings.Replace(strings.Replace(hdrFmt, "1.6<", "3.2<", 2), "CV", "1", 1), `<sr:Anything><sr:X/></sr:Anything>`), true, PaymentNone, 1, "", time.Time{}},
		{"optional header fields", request("4", strings.Replace(strings.Replace(hdrFmt, "CV", "4", 1), "</sr:RequestID>", "</sr:RequestID><sr:FirstInSequence>true</sr:FirstInSequence><sr:PrecedingServiceRequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1001</sr:PrecedingServiceRequestID>", 1), credit), true, PaymentCredit, 4, "", time.Time{}},

		{"response root", strings.NewReplacer("<sr:Request ", "<sr:Response ", "</sr:Request>", "</sr:Response>").Replace(request("4", "", credit)), false, 0, 0, "", time.Time{}},
		{"wrong namespace", strings.Replace(request("4", "", credit), Namespace, "urn:other", 1), false, 0, 0, "", time.Time{}},
		{"no schemaVersion", strings.Replace(request("4", "", credit), ` schemaVersion="5.4"`, "", 1), false, 0, 0, "", time.Time{}},
		{"CV 0", request("0", "", credit), false, 0, 0, "", time.Time{}},
		{"CV 9", request("9", "", credit), false, 0, 0, "", time.Time{}},
		{"CV 44", request("44", "", credit), false, 0, 0, "", time.Time{}},
		{"bad RequestID", strings.Replace(request("4", "", credit), ":1002<", ":01002<", 1), false, 0, 0, "", time.Time{}},
		{"header order", request("4", `<sr:Header><sr:CommandVariant>4</sr:CommandVariant><sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1</sr:RequestID><sr:ServiceReference>1.6</sr:ServiceReference><sr:ServiceReferenceVariant>1.6</sr:ServiceReferenceVariant></sr:Header>`, credit), false, 0, 0, "", time.Time{}},
		{"duplicate header field", strings.Replace(request("4", "", credit), "</sr:ServiceReferenceVariant>", "</sr:ServiceReferenceVariant><sr:ServiceReferenceVariant>1.6</sr:ServiceReferenceVariant>", 1), false, 0, 0, "", time.Time{}},
		{"nested element in field", strings.Replace(request("4", "", credit), ">1.6</sr:ServiceReferenceVariant>", "><sr:X>1.6</sr:X></sr:ServiceReferenceVariant>", 1), false, 0, 0, "", time.Time{}},
		{"extra root child", strings.Replace(request("4", "", credit), "</sr:Body>", "</sr:Body><sr:Body/>", 1), false, 0, 0, "", time.Time{}},
		{"two body children", request("4", "", credit+credit), false, 0, 0, "", time.Time{}},
		{"credit and prepayment", request("4", "", `<sr:UpdatePaymentMode><sr:Credit/><sr:Prepayment/></sr:UpdatePaymentMode>`), false, 0, 0, "", time.Time{}},
		{"two credits", request("4", "", `<sr:UpdatePaymentMode><sr:Credit/><sr:Credit/></sr:UpdatePaymentMode>`), false, 0, 0, "", time.Time{}},
		{"neither", request("4", "", `<sr:UpdatePaymentMode></sr:UpdatePaymentMode>`), false, 0, 0, "", time.Time{}},
		{"credit with content", request("4", "", `<sr:UpdatePaymentMode><sr:Credit>x</sr:Credit></sr:UpdatePaymentMode>`), false, 0, 0, "", time.Time{}},
		{"foreign payment element", request("4", "", `<sr:UpdatePaymentMode><x:Credit xmlns:x="urn:x"/></sr:UpdatePaymentMode>`), false, 0, 0, "", time.Time{}},
		{"prepayment bad bool", request("4", "", strings.Replace(prepayment, ">true<", ">yes<", 1)), false, 0, 0, "", time.Time{}},
		{"prepayment missing field", request("4", "", strings.Replace(prepayment, "<sr:DisablementThreshold>-5</sr:DisablementThreshold>", "", 1)), false, 0, 0, "", time.Time{}},
		{"1.6 wrong body", request("4", "", `<sr:ReadInventory/>`), false, 0, 0, "", time.Time{}},
		{"exec without zone", request("4", "", strings.Replace(prepayment, "00.00Z", "00.00", 1)), false, 0, 0, "", time.Time{}},
		{"exec after mode", request("4", "", `<sr:UpdatePaymentMode><sr:Credit/><sr:ExecutionDateTime>2030-01-15T09:00:00Z</sr:ExecutionDateTime></sr:UpdatePaymentMode>`), false, 0, 0, "", time.Time{}},
		{"CV 5 without pre-command", request("5", "", credit), false, 0, 0, "", time.Time{}},
		{"empty GBCS payload", request("5", "", `<sr:SignedPreCommand><sr:GBCSPayload></sr:GBCSPayload></sr:SignedPreCommand>`), false, 0, 0, "", time.Time{}},
		{"bad base64", request("6", "", `<sr:SignedPreCommand><sr:GBCSPayload>3QA*</sr:GBCSPayload></sr:SignedPreCommand>`), false, 0, 0, "", time.Time{}},
		{"two payloads", request("6", "", `<sr:SignedPreCommand><sr:GBCSPayload>3QAA</sr:GBCSPayload><sr:GBCSPayload>3QAA</sr:GBCSPayload></sr:SignedPreCommand>`), false, 0, 0, "", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := FromElement(verified(t, []byte(tc.doc)))
			if !tc.ok {
				if !errors.Is(err, ErrMalformed) || req != nil {
					t.Fatalf("err %v, want MALFORMED", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.PaymentMode != tc.mode || req.CommandVariant != tc.cv || string(req.GBCSPayload) != tc.gbcs || !req.ExecutionDateTime.Equal(tc.exec) {
				t.Fatalf("got mode %v cv %d gbcs %x exec %v", req.PaymentMode, req.CommandVariant, req.GBCSPayload, req.ExecutionDateTime)
			}
		})
	}
	if _, err := FromElement(nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nil: %v", err)
	}
}

// trimXMLSpace and allDigits stand in for strings.Trim and
// strings.TrimLeft with fixed sets on the request path: same answers on
// every mix of the set's bytes and others.
func TestTrimHelpers(t *testing.T) {
	alphabet := []byte{' ', '\t', '\r', '\n', '0', '9', 'a', '.', 0x0b, 0xc2, 0xa0}
	var walk func(prefix []byte, depth int)
	walk = func(prefix []byte, depth int) {
		s := string(prefix)
		if got, want := trimXMLSpace(s), strings.Trim(s, " \t\r\n"); got != want {
			t.Errorf("trimXMLSpace(%q) = %q, want %q", s, got, want)
		}
		if got, want := allDigits(s), strings.TrimLeft(s, "0123456789") == ""; got != want {
			t.Errorf("allDigits(%q) = %v, want %v", s, got, want)
		}
		if depth == 0 {
			return
		}
		for _, c := range alphabet {
			walk(append(prefix, c), depth-1)
		}
	}
	walk(nil, 4)
}
