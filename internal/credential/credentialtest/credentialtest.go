// Package credentialtest writes officer credential directories for tests
// of clients that talk to a stand-in RA (an httptest server): a fresh key
// and a self-signed client certificate, trusting the server's certificate.
package credentialtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/smki/smki/internal/credential"
)

// WriteSelfSigned writes to dir (created) the credential of officer
// commonName: a new P-256 key, a self-signed client certificate valid for
// a year from an hour ago, and ca.pem holding trust (the stand-in RA's
// server certificate), through credential.Write as smki writes one.
func WriteSelfSigned(t testing.TB, dir, commonName string, trust *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: commonName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := credential.Write(dir, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: trust.Raw})); err != nil {
		t.Fatal(err)
	}
}
