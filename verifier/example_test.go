package verifier_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/verifier"
)

// A Verifier is made from trust anchors and an opened policy bundle (New),
// then asked about each signed Service Request (Verify). It fails closed:
// whatever it cannot prove acceptable is a Reject with a stable code. It
// remembers what it accepted: an accept advances the originator's replay
// counter (and an SC user's ADT count), so the same request sent again is
// REPLAY; a reject changes nothing.
func Example() {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example Root OCA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rootKey.PublicKey, rootKey)
	root, _ := x509.ParseCertificate(der)

	// In production the bundle comes from bundle.Open over the RA's signed
	// export (smki bundle export, GET /v1/bundle).
	b := &bundle.Bundle{Version: bundle.Version, IssuedAt: now, MaxAge: bundle.Duration(24 * time.Hour)}
	v, err := verifier.New(verifier.Options{Roots: []*x509.Certificate{root}, Bundle: b,
		Clock: func() time.Time { return now }})
	if err != nil {
		fmt.Println("new:", err)
		return
	}
	for _, in := range []struct {
		name string
		data string
		at   time.Time
	}{
		{"not XML", "not a service request", now},
		{"a DTD", `<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`, now},
		{"unsigned", `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"/>`, now},
	} {
		d := v.Verify([]byte(in.data), in.at)
		fmt.Printf("%s: %s %s accepted=%v\n", in.name, d.Decision, d.Code, d.Accepted())
	}
	// Output:
	// not XML: reject MALFORMED accepted=false
	// a DTD: reject MALFORMED accepted=false
	// unsigned: reject SIG accepted=false
}
