package xmldsig

import (
	"errors"
	"os"
	"testing"

	"github.com/smki/smki/internal/conformance"
)

// DCC's signed responses: the positive ones verify with the DSP certificate
// that xmlsec1 accepts them with; the negative ones fail with their codes.
func TestDCCResponses(t *testing.T) {
	t.Parallel()
	const (
		pre = "dsp-xml-sign-90B3D51F30000002-ds-pre-1.4.1.pem"
		cur = "dsp-xml-sign-90B3D51F30000002-ds.pem"
	)
	tests := []struct {
		file, cert string
		parseErr   error
		verifyErr  error
	}{
		{"readfw-response.xml", pre, nil, nil},
		{"readfw-response-resigned.xml", cur, nil, nil},
		{"read-inventory-response-4g.xml", cur, nil, nil},
		{"read-inventory-response-5.4.xml", cur, nil, nil},
		{"readfw-response.xml", cur, nil, ErrSignature},                 // wrong key
		{"readfw-response-badsignature.xml", pre, nil, ErrSignature},    // one base64 char changed
		{"readfw-response-invalid.xml", pre, nil, ErrSignature},         // content changed
		{"readfw-response-nonexist-serial.xml", pre, nil, ErrSignature}, // signed by another key
		{"readfw-response-no-signature.xml", pre, ErrSignature, nil},    // no ds:Signature
		{"acknowledgement-error.xml", pre, ErrSignature, nil},           // unsigned
		{"readfw-response-no-serial.xml", pre, ErrSignature, nil},       // no KeyInfo
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.cert, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(conformance.Path(t, "duis", "responses", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			pub, _, _ := dccCertKey(t, conformance.Path(t, "certs", tc.cert))
			d, err := Parse(data, DefaultLimits())
			if tc.parseErr != nil {
				if !errors.Is(err, tc.parseErr) {
					t.Fatalf("Parse error %v, want %v", err, tc.parseErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			root, canonical, err := d.Verify(pub)
			if tc.verifyErr != nil {
				if !errors.Is(err, tc.verifyErr) || root != nil || canonical != nil {
					t.Fatalf("Verify = %v, %v, want %v and nothing else", root != nil, err, tc.verifyErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if root.Local != "Response" || root.Child("http://www.dccinterface.co.uk/ServiceUserGateway", "Header") == nil {
				t.Fatalf("root %s has no Header", root.Local)
			}
			for _, c := range root.Children {
				if c.Space == NamespaceDS {
					t.Fatalf("signature element %s in the verified tree", c.Local)
				}
			}
			is := d.KeyInfo().IssuerSerial
			if is == nil || is.IssuerName != "CN=Z1,OU=07" {
				t.Fatalf("KeyInfo %+v", d.KeyInfo())
			}
		})
	}
}

// The DUIS templates carry placeholder signatures with a comment inside:
// strict Parse refuses them as MALFORMED (comments are never allowed).
func TestTemplatesRejectedUnsigned(t *testing.T) {
	t.Parallel()
	dir := conformance.Path(t, "duis", "requests")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(dir + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(data, DefaultLimits())
		switch e.Name() {
		case "dccboxed-message.xml": // a signed DCC response
			if err != nil {
				t.Errorf("%s: %v", e.Name(), err)
			}
		case "dccboxed-message2.xml": // the same, unsigned
			if !errors.Is(err, ErrSignature) {
				t.Errorf("%s: err %v, want SIG", e.Name(), err)
			}
		default: // templates (comment in the placeholder) and the XXE sample (DTD)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: err %v, want MALFORMED", e.Name(), err)
			}
		}
	}
}
