package raclient_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/role"
)

// An ARO enrols an xml-signing certificate for one of its party's users.
// The client authenticates with the officer's credential directory
// (key.pem, cert.pem, ca.pem, as `smki officer appoint` writes it); an
// error from the RA matches ra's sentinels with errors.Is, so a caller
// branches on the code, never on the message.
func Example() {
	ctx := context.Background()
	c, err := raclient.NewClient("https://ra.example:8443", "officers/aro-a")
	if err != nil {
		log.Fatal(err) // E_RA_UNAUTHENTICATED: the credential directory is unusable
	}
	user := eui64.MustParse("90-B3-D5-1F-30-01-00-01")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, err := ra.NewCSR(key, user, role.ImportSupplier, ca.XMLSigning, "")
	if err != nil {
		log.Fatal(err)
	}
	issued, err := c.Enrol(ctx, raapi.EnrolRequest{UserID: user, Profile: ca.XMLSigning, CSR: csr, Mode: raapi.ModeEnrol})
	switch {
	case errors.Is(err, raerr.ErrNotEligible):
		fmt.Println("this User Role may not hold this profile")
	case errors.Is(err, raerr.ErrForbidden):
		fmt.Println("not this officer's party")
	case err != nil:
		var ae *raclient.APIError
		if errors.As(err, &ae) {
			fmt.Println(ae.Status, ae.Code)
		}
	default:
		fmt.Println("issued", issued.Cert.Serial)
	}
}

// A verifier credential fetches the signed bundle; bundle.Open checks it
// against the SMKI root before anything in it is used.
func ExampleClient_Bundle() {
	ctx := context.Background()
	c, err := raclient.NewClient("https://ra.example:8443", "verifier-1")
	if err != nil {
		log.Fatal(err)
	}
	data, err := c.Bundle(ctx)
	if err != nil {
		log.Fatal(err)
	}
	rootPEM, err := os.ReadFile("trust/root.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	b, err := bundle.Open(data, roots, time.Now())
	if err != nil {
		log.Fatal(err) // E_ENVELOPE_*: not signed by an OU=89 certificate under the root
	}
	fmt.Println(len(b.Users), "users,", len(b.SoLREvents), "SoLR events")
}

// An RA officer walks every good certificate of a party a page at a time
// (GET /v1/certificates answers at most 1,000 by default, issue 20)
// without holding them all; ListCertificates does the same and returns
// them together.
func ExampleClient_EachCertificatePage() {
	ctx := context.Background()
	c, err := raclient.NewClient("https://ra.example:8443", "officers/admin")
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	q := raapi.CertQuery{PartyID: eui64.MustParse("90-B3-D5-1F-30-00-00-01"), Status: "good"}
	err = c.EachCertificatePage(ctx, q, func(page []raapi.CertInfo) error {
		n += len(page)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "good certificates")
}
