package raclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/librarytext"
	"github.com/smki/smki/ra/raerr"
)

// TestExpiredCredentialRefused: the RA refuses an officer credential
// that has expired in the TLS handshake (a real one: the server verifies
// client certificates against the access root). The SRP's officer is
// told that it expired and when, and the one way back, since an expired
// credential cannot renew itself: a key of their own (smki officer
// keygen) re-issued by whoever may appoint them (smki officer reissue),
// not "revoked, expired, or not issued by this RA's access CA". A
// current credential the RA refuses there is still on its revocation
// list (E_RA_OFFICER_INACTIVE); a cert.pem another RA issued (the
// server answers unknown certificate authority) is told as such.
func TestExpiredCredentialRefused(t *testing.T) {
	t.Parallel()
	now := time.Now()
	root, rootKey := newTestCA(t, "access root")
	pool := x509.NewCertPool()
	pool.AddCert(root)
	serverCert := newTestLeaf(t, root, rootKey, now.Add(-time.Hour), now.Add(time.Hour), "127.0.0.1")
	for _, tc := range []struct {
		name     string
		from, to time.Time
		revoked  bool
		code     error
		want     []string
	}{
		{"expired", now.Add(-400 * 24 * time.Hour), now.Add(-35 * 24 * time.Hour), false, raerr.ErrUnauthenticated,
			[]string{"expired on " + now.Add(-35*24*time.Hour).UTC().Format("2006-01-02"), "smki officer keygen", "smki officer reissue --id srp1-aro"}},
		{"current but revoked", now.Add(-time.Hour), now.Add(300 * 24 * time.Hour), true, raerr.ErrOfficerInactive,
			[]string{"revocation list"}},
		{"cert.pem of another RA", now.Add(-time.Hour), now.Add(300 * 24 * time.Hour), false, raerr.ErrUnauthenticated,
			[]string{"not issued by the access CA of its ca.pem"}},
		// The RA's clock an hour behind this machine's: a credential issued
		// a minute ago (by another instance, or before a clock jump) is not
		// yet valid to it. Not "on the revocation list".
		{"RA clock behind", now.Add(-time.Minute), now.Add(300 * 24 * time.Hour), false, raerr.ErrUnauthenticated,
			[]string{"outside its validity", "clock", "check both"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			issuer, issuerKey := root, rootKey
			if strings.Contains(tc.name, "another RA") {
				issuer, issuerKey = newTestCA(t, "access root") // every smki RA names its access root alike
			}
			client := newTestClientLeaf(t, issuer, issuerKey, tc.from, tc.to, "srp1-aro")
			ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("the request reached the server: %s %s", r.Method, r.URL)
			}))
			serverClock := time.Now
			if strings.Contains(tc.name, "clock behind") {
				serverClock = func() time.Time { return time.Now().Add(-time.Hour) }
			}
			ts.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, Time: serverClock,
				VerifyPeerCertificate: func([][]byte, [][]*x509.Certificate) error {
					if tc.revoked {
						return errors.New("on the access CRL")
					}
					return nil
				}}
			ts.StartTLS()
			defer ts.Close()
			c, err := NewClientTLS(ts.URL, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{client}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Trust(context.Background())
			if !errors.Is(err, tc.code) {
				t.Fatalf("got %v, want %v", err, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
			if m := librarytext.Find(err.Error()); m != "" {
				t.Errorf("library text %q in %q", m, err)
			}
		})
	}
}

func newTestClientLeaf(t *testing.T, ca *x509.Certificate, caKey any, from, to time.Time, cn string) tls.Certificate {
	t.Helper()
	return newTestLeafUsage(t, ca, caKey, from, to, cn, x509.ExtKeyUsageClientAuth)
}
