package console

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
)

// TestStaleSessionDoesNotEndTheCurrentOne: a session ends when the
// credential it was made with no longer authenticates, and then so does
// every session and login link made with that credential, but no other:
// an old tab still holding a renewed officer's superseded certificate
// does not sign out the session made with the new one. A store failing
// for a moment ends nothing: the officer sees 503 with the RA's code and
// is still signed in after. A removed officer's sessions all end.
func TestStaleSessionDoesNotEndTheCurrentOne(t *testing.T) {
	t.Parallel()
	fs := &failingStore{officers: true}
	e := newEnvFailing(t, fs)
	signedOut := func(cookie string) bool {
		w := e.do("GET", "/console/", nil, cookie, nil, nil)
		return w.Code == http.StatusSeeOther && strings.HasPrefix(w.Header().Get("Location"), "/console/login")
	}
	oldCk, _ := e.signIn("sro-a")
	w := e.do("POST", "/console/login-link", nil, "", e.cert("sro-a"), map[string]string{"Origin": "", "Sec-Fetch-Site": ""})
	oldLink := linkToken(t, w.Body.String())

	// sro-a renews its credential and signs in with the new one in two tabs.
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, ratest.NewKey(t))
	if err != nil {
		t.Fatal(err)
	}
	_, cred, err := e.svc.RenewOfficerCredential(context.Background(), e.actor("sro-a"), "sro-a",
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})))
	if err != nil {
		t.Fatal(err)
	}
	e.certs["sro-a"] = ratest.ParseCert(t, cred.CertPEM)
	newCk, _ := e.signIn("sro-a")
	newCk2, _ := e.signIn("sro-a")

	if !signedOut(oldCk) {
		t.Fatal("the old tab, on the superseded credential, is still signed in")
	}
	if signedOut(newCk) || signedOut(newCk2) {
		t.Fatal("the old tab's request signed out the sessions made with the new credential")
	}
	if w := e.do("POST", "/console/login/"+oldLink, url.Values{}, "", nil, nil); w.Code != http.StatusNotFound {
		t.Fatalf("the superseded credential's login link: %d, want 404 (ended with its sessions)", w.Code)
	}

	for _, tc := range []struct {
		name string
		err  error
		code string
	}{
		{"store error", errors.New("disk I/O error"), "E_RA_INTERNAL"},
		{"store busy", store.ErrConflict, "E_RA_BUSY"},
	} {
		fs.err.Store(&tc.err)
		w := e.do("GET", "/console/parties", nil, newCk, nil, nil)
		fs.err.Store(nil)
		if body := w.Body.String(); w.Code != http.StatusServiceUnavailable || !strings.Contains(body, tc.code) || !strings.Contains(body, "still signed in") {
			t.Errorf("%s: %d, want 503 with %s and that the officer is still signed in\n%s", tc.name, w.Code, tc.code, body)
		}
		if signedOut(newCk) || signedOut(newCk2) {
			t.Errorf("%s ended the officer's sessions", tc.name)
		}
	}

	if _, err := e.svc.RemoveOfficer(context.Background(), e.admin, "sro-a"); err != nil {
		t.Fatal(err)
	}
	if !signedOut(newCk) {
		t.Fatal("a removed officer's session still works")
	}
	if n := e.c.ss.count("sro-a"); n != 0 {
		t.Fatalf("a removed officer still holds %d sessions after one was refused", n)
	}
}
