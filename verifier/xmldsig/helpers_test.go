package xmldsig

import (
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

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// dccCertKey reads the public key, raw issuer and serial of a DCC test
// certificate. crypto/x509 cannot parse these (their subject carries
// x500UniqueIdentifier as a BIT STRING), so the fields are read directly.
func dccCertKey(t testing.TB, path string) (*ecdsa.PublicKey, []byte, *big.Int) {
	t.Helper()
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(pemBytes)
	if b == nil {
		t.Fatalf("%s: no PEM", path)
	}
	in := cryptobyte.String(b.Bytes)
	var cert, tbs, issuer, spki cryptobyte.String
	serial := new(big.Int)
	ok := in.ReadASN1(&cert, cbasn1.SEQUENCE) &&
		cert.ReadASN1(&tbs, cbasn1.SEQUENCE) &&
		tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) &&
		tbs.ReadASN1Integer(serial) &&
		tbs.SkipASN1(cbasn1.SEQUENCE) &&
		tbs.ReadASN1Element(&issuer, cbasn1.SEQUENCE) &&
		tbs.SkipASN1(cbasn1.SEQUENCE) &&
		tbs.SkipASN1(cbasn1.SEQUENCE) &&
		tbs.ReadASN1Element(&spki, cbasn1.SEQUENCE)
	if !ok {
		t.Fatalf("%s: cannot read TBSCertificate", path)
	}
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		t.Fatal(err)
	}
	return pub.(*ecdsa.PublicKey), issuer, serial
}

// testCert makes a P-256 key and a self-issued certificate whose issuer is
// OU=07, CN=Z1 in DCC's DER order.
func testCert(t testing.TB) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name := pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: []int{2, 5, 4, 11}, Value: "07"},
		{Type: []int{2, 5, 4, 3}, Value: "Z1"},
	}}
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes([]byte{0x26, 0x1e, 0x9c, 0xcc, 0x40, 0xa7, 0x8f, 0xd1, 0x3d, 0x83, 0xbc, 0xe0, 0x7d, 0xac, 0xfe, 0x08}),
		Subject:      name,
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2120, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
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
