package dccx509

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/smki/smki/internal/conformance"
)

// FuzzParseCertificate: a certificate from an envelope's chain, a trust
// directory or a DUIS signature is parsed without modifying the input;
// what parses has Raw equal to the input byte for byte (what signatures
// are checked over); and wherever crypto/x509 itself accepts the input,
// ParseCertificate agrees with it (the workaround changes nothing for a
// certificate without BIT STRING names). RawIssuer agrees with the full
// parse on what both accept.
func FuzzParseCertificate(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "fuzz", OrganizationalUnit: []string{"07"}},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(1<<31, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	for _, name := range []string{"xml-sign-90B3D51F30010000-ds.pem", "Z1-supplier-ds.pem"} {
		if b, err := os.ReadFile(conformance.Path(f, "certs", name)); err == nil {
			if p, _ := pem.Decode(b); p != nil {
				f.Add(p.Bytes)
			}
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		orig := bytes.Clone(der)
		c, err := ParseCertificate(der)
		if !bytes.Equal(der, orig) {
			t.Fatal("ParseCertificate modified its input")
		}
		ref, refErr := x509.ParseCertificate(orig)
		if refErr == nil {
			if err != nil {
				t.Fatalf("crypto/x509 accepts what ParseCertificate refuses: %v", err)
			}
			if !bytes.Equal(c.RawTBSCertificate, ref.RawTBSCertificate) || c.Subject.String() != ref.Subject.String() ||
				c.Issuer.String() != ref.Issuer.String() || c.SerialNumber.Cmp(ref.SerialNumber) != 0 {
				t.Fatal("ParseCertificate and crypto/x509 disagree on a certificate both accept")
			}
		}
		if err != nil {
			return
		}
		if !bytes.Equal(c.Raw, orig) {
			t.Fatal("Raw is not the input")
		}
		if is, ok := RawIssuer(orig); !ok || !bytes.Equal(is, c.RawIssuer) {
			t.Fatalf("RawIssuer = %x, %v; the parse says %x", is, ok, c.RawIssuer)
		}
	})
}
