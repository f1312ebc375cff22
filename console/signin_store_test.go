package console

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// TestSignInStoreFailureIsNotUnauthenticated: when the RA cannot read
// the officer just now (the store busy), signing in answers 503 with
// Retry-After and the RA's code, not 401 as if the credential were bad;
// and a login link is not spent by such a failure, so the same link
// works once the store answers again (within its minute). A credential
// the RA refuses still gets 401.
func TestSignInStoreFailureIsNotUnauthenticated(t *testing.T) {
	t.Parallel()
	fs := &failingStore{officers: true}
	e := newEnvFailing(t, fs)
	busy := fmt.Errorf("postgres: gave up after 10 retries: %w", store.ErrConflict)
	noOrigin := map[string]string{"Origin": "", "Sec-Fetch-Site": ""}

	fs.err.Store(&busy)
	w := e.do("POST", "/console/login-link", nil, "", e.cert("sro-a"), noOrigin)
	fs.err.Store(nil)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "E_RA_BUSY") {
		t.Errorf("login link with the store busy: %d Retry-After %q %s; want 503 with Retry-After and E_RA_BUSY",
			w.Code, w.Header().Get("Retry-After"), w.Body)
	}

	w = e.do("POST", "/console/login-link", nil, "", e.cert("sro-a"), noOrigin)
	if w.Code != http.StatusOK {
		t.Fatalf("login link: %d %s", w.Code, w.Body)
	}
	tok := linkToken(t, w.Body.String())
	fs.err.Store(&busy)
	w = e.do("POST", "/console/login/"+tok, url.Values{}, "", nil, nil)
	fs.err.Store(nil)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "E_RA_BUSY") {
		t.Errorf("using a link with the store busy: %d Retry-After %q; want 503 with Retry-After and E_RA_BUSY", w.Code, w.Header().Get("Retry-After"))
	}
	w = e.do("POST", "/console/login/"+tok, url.Values{}, "", nil, nil)
	if w.Code != http.StatusSeeOther {
		t.Errorf("the same link once the store answers: %d, want 303 (a busy store must not spend the link)", w.Code)
	}

	fs.err.Store(&busy)
	w = e.do("POST", "/console/login-cert", url.Values{}, "", e.cert("sro-a"), nil)
	fs.err.Store(nil)
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("certificate sign-in with the store busy: %d, want 503", w.Code)
	}
	// A refusal is still 401: a certificate no officer holds.
	if w := e.do("POST", "/console/login-link", nil, "", strangerCert(t), noOrigin); w.Code != http.StatusUnauthorized {
		t.Errorf("login link for an unknown certificate: %d, want 401", w.Code)
	}
}

// strangerCert is a self-signed certificate named like an officer that
// the RA's access CA never issued.
func strangerCert(t *testing.T) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "sro-a"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
