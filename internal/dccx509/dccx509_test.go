package dccx509

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"testing"

	"github.com/smki/smki/internal/conformance"
)

func TestParseDCCCertificates(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"xml-sign-90B3D51F30010000-ds.pem", "Z1-supplier-ds.pem", "dsp-xml-sign-90B3D51F30000002-ds.pem"} {
		b, err := os.ReadFile(conformance.Path(t, "certs", name))
		if err != nil {
			t.Fatal(err)
		}
		p, _ := pem.Decode(b)
		if _, err := x509.ParseCertificate(p.Bytes); err == nil {
			t.Logf("%s: crypto/x509 now parses BIT STRING names; this package may be retired", name)
		}
		orig := append([]byte(nil), p.Bytes...)
		c, err := ParseCertificate(p.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(c.Raw, orig) || !bytes.Equal(p.Bytes, orig) {
			t.Fatalf("%s: Raw differs from the input, or the input was modified", name)
		}
		if !bytes.Contains(c.RawSubject, []byte{0x03, 0x09, 0x00}) {
			t.Errorf("%s: RawSubject lost the BIT STRING", name)
		}
		if !bytes.Contains(c.RawTBSCertificate, c.RawSubject) || !bytes.Contains(c.Raw, c.RawTBSCertificate) {
			t.Errorf("%s: raw slices inconsistent", name)
		}
	}
	if _, err := ParseCertificate([]byte{0x30, 0x03, 0x02, 0x01}); err == nil {
		t.Error("garbage parsed")
	}
}

func TestParsePEM(t *testing.T) {
	t.Parallel()
	if _, err := ParsePEM([]byte("no pem here")); !errors.Is(err, ErrNoCertificate) {
		t.Fatalf("ParsePEM(garbage) = %v", err)
	}
	if _, err := ParsePEM(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x00}})); err == nil {
		t.Fatal("ParsePEM accepted a broken certificate")
	}
}
