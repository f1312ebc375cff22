package dccx509

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"testing"
	"time"

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

func TestRawIssuer(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issuerName := pkix.Name{CommonName: "Z1", Organization: []string{"Issuer Org"}}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "leaf"}, Issuer: issuerName,
		NotBefore: time.Unix(1e9, 0), NotAfter: time.Unix(2e9, 0)}
	parent := &x509.Certificate{Subject: issuerName, PublicKey: &key.PublicKey}
	made, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{"made here": made}
	for _, name := range []string{"xml-sign-90B3D51F30010000-ds.pem", "Z1-supplier-ds.pem"} {
		b, err := os.ReadFile(conformance.Path(t, "certs", name))
		if err != nil {
			t.Fatal(err)
		}
		p, _ := pem.Decode(b)
		cases[name] = p.Bytes
	}
	for name, der := range cases {
		c, err := ParseCertificate(der)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		raw, ok := RawIssuer(der)
		if !ok || !bytes.Equal(raw, c.RawIssuer) {
			t.Errorf("%s: RawIssuer = %x, %v; the parsed certificate's is %x", name, raw, ok, c.RawIssuer)
		}
		// Cut anywhere before the issuer's end: not a certificate.
		end := bytes.Index(der, c.RawIssuer) + len(c.RawIssuer)
		for _, n := range []int{0, 1, 4, end - 1} {
			if _, ok := RawIssuer(der[:n]); ok {
				t.Errorf("%s: RawIssuer of the first %d bytes succeeded", name, n)
			}
		}
	}
	if _, ok := RawIssuer([]byte{0x30, 0x03, 0x02, 0x01, 0x01}); ok {
		t.Error("RawIssuer of a SEQUENCE holding an INTEGER succeeded")
	}
}
