package ownpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"
)

// testAccessCA is an AccessCA with its own root and a settable clock.
func testAccessCA(t *testing.T, clock *time.Time, mu *sync.Mutex) *AccessCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test access root"},
		NotBefore: testStart.Add(-time.Hour), NotAfter: testStart.AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &AccessCA{key: key, root: root, now: func() time.Time { mu.Lock(); defer mu.Unlock(); return *clock }}
}

func parsedCred(t *testing.T, c Credential) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(c.CertPEM)
	if b == nil {
		t.Fatal("credential certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestVerifyClientRemembersOnlyWithinValidity: a certificate verified once
// is accepted again without a new verification only while the clock is
// inside its validity; before and after it, and for a certificate of
// another root or one altered after it verified, VerifyClient refuses
// as on the first call.
func TestVerifyClientRemembersOnlyWithinValidity(t *testing.T) {
	var mu sync.Mutex
	now := testStart
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	a := testAccessCA(t, &now, &mu)
	other := testAccessCA(t, &now, &mu)
	cred, err := a.IssueOfficer("alice", "ARO", "RA")
	if err != nil {
		t.Fatal(err)
	}
	cert := parsedCred(t, cred)
	for i := range 3 {
		if err := a.VerifyClient(cert); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if !a.verified.holds(cert, now) {
		t.Fatal("a verified certificate is not remembered")
	}
	set(cert.NotAfter.Add(time.Second))
	if err := a.VerifyClient(cert); err == nil {
		t.Fatal("an expired certificate is accepted because it verified before")
	}
	set(cert.NotBefore.Add(-time.Second))
	if err := a.VerifyClient(cert); err == nil {
		t.Fatal("a not yet valid certificate is accepted because it verified before")
	}
	set(testStart)
	if err := a.VerifyClient(cert); err != nil {
		t.Fatalf("back within validity: %v", err)
	}

	// Another root's certificate: refused every time.
	foreign, err := other.IssueOfficer("mallory", "ARO", "RA")
	if err != nil {
		t.Fatal(err)
	}
	fc := parsedCred(t, foreign)
	for range 2 {
		if err := a.VerifyClient(fc); err == nil {
			t.Fatal("a certificate of another root is accepted")
		}
	}
	// The same certificate with one signature bit flipped: other bytes, so
	// not remembered, and its signature fails.
	bad := *cert
	bad.Raw = append([]byte(nil), cert.Raw...)
	bad.Raw[len(bad.Raw)-1] ^= 1
	bad.Signature = append([]byte(nil), cert.Signature...)
	bad.Signature[len(bad.Signature)-1] ^= 1
	if err := a.VerifyClient(&bad); err == nil {
		t.Fatal("an altered certificate is accepted")
	}
}
