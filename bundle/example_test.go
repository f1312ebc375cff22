package bundle_test

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
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

// exampleSigner makes a root and an OU=89 (dSPXmlSign) signing certificate
// under it, as the RA's system signer is certified in a real deployment.
func exampleSigner(now time.Time) (*ecdsa.PrivateKey, []*x509.Certificate, *x509.CertPool) {
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	rootDER, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	root, _ := x509.ParseCertificate(rootDER)

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject:   pkix.Name{CommonName: "ra-system-signer", OrganizationalUnit: []string{role.RPDSPXMLSign.OU()}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, root, &key.PublicKey, rootKey)
	cert, _ := x509.ParseCertificate(der)

	roots := x509.NewCertPool()
	roots.AddCert(root)
	return key, []*x509.Certificate{cert, root}, roots
}

// The RA seals a bundle with its OU=89 system signer (Sign); a verifier,
// or anyone holding the SMKI root, opens it (Open): size cap, format,
// signer chain and OU, signature, strict decoding and Validate, in that
// order. Any change to the signed bytes makes Open fail.
func Example() {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	key, chain, roots := exampleSigner(now)

	sc := eui64.MustParse("90-B3-D5-1F-30-05-00-00")
	srp := eui64.MustParse("90-B3-D5-1F-30-00-00-5C")
	b := &bundle.Bundle{
		Version:    bundle.Version,
		IssuedAt:   now,
		MaxAge:     bundle.Duration(24 * time.Hour),
		Parties:    []bundle.Party{{ID: srp, Name: "SRP", Status: bundle.StatusActive}},
		Users:      []bundle.User{{UserID: sc, PartyID: srp, Role: role.SoLRContingency, Status: bundle.StatusActive, Name: "SRP SC"}},
		AllowLists: map[role.UserRole][]string{role.SoLRContingency: {"1.6"}},
	}
	signed, err := bundle.Sign(b, key, chain)
	if err != nil {
		fmt.Println("sign:", err)
		return
	}

	got, err := bundle.Open(signed, roots, now)
	if err != nil {
		fmt.Println("open:", err)
		return
	}
	fmt.Println(got.Users[0].UserID, got.Users[0].Role, got.AllowLists[role.SoLRContingency])

	// A feed page is signed the same way and is never taken for a bundle.
	page, _ := bundle.SignFeedPage(&bundle.FeedPage{Seq: 1, IssuedAt: now}, key, chain)
	_, err = bundle.Open(page, roots, now)
	fmt.Println(err != nil)
	// Output:
	// 90-B3-D5-1F-30-05-00-00 SC [1.6]
	// true
}

// A SoLR event authorises anything only when approved or active, and
// only inside its window.
func ExampleSoLREvent_ActiveAt() {
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(48 * time.Hour)
	e := bundle.SoLREvent{State: bundle.EventDeclared, Start: start, End: &end}
	fmt.Println(e.State, e.ActiveAt(start.Add(time.Hour)))
	e.State = bundle.EventApproved
	fmt.Println(e.State, e.ActiveAt(start.Add(time.Hour)), e.ActiveAt(end))
	// Output:
	// declared false
	// approved true false
}
