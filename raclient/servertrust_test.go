package raclient

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/librarytext"
	"github.com/smki/smki/ra/raapi"
)

// TestServerCertificateNotTrusted: the RA's TLS certificate fails to
// verify, in a real handshake, for each reason an SRP meets: this
// machine's clock behind the RA's (a certificate not yet valid: the RA
// backdates a new one by a minute only), an expired certificate, --ra
// naming a host the certificate is not for, another CA. Each is
// E_RA_UNREACHABLE in smki's words naming the reason and what to check
// (the clock, the names the certificate has), not "check --ra" for a
// clock, and says nothing was sent: the handshake failed before the
// request, so an enrolment was not issued and sending it again as it is
// cannot help (MayHaveActed false). A timeout after sending still may
// have acted.
func TestServerCertificateNotTrusted(t *testing.T) {
	t.Parallel()
	now := time.Now()
	caCert, caKey := newTestCA(t, "access root")
	other, otherKey := newTestCA(t, "another CA")
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	for _, tc := range []struct {
		name  string
		leaf  tls.Certificate
		want  []string
		never string
	}{
		{"clock behind the RA's", newTestLeaf(t, caCert, caKey, now.Add(2*time.Hour), now.Add(90*24*time.Hour), "localhost", "127.0.0.1"),
			[]string{"not valid until " + now.Add(2*time.Hour).UTC().Format("2006-01-02 15:04"), "this machine's clock"}, "check that --ra"},
		{"expired", newTestLeaf(t, caCert, caKey, now.Add(-90*24*time.Hour), now.Add(-time.Hour), "localhost", "127.0.0.1"),
			[]string{"expired at " + now.Add(-time.Hour).UTC().Format("2006-01-02 15:04"), "clock"}, "check that --ra"},
		{"another name", newTestLeaf(t, caCert, caKey, now.Add(-time.Hour), now.Add(time.Hour), "ra.example.org"),
			[]string{"for ra.example.org, not 127.0.0.1", "--tls-name"}, "clock"},
		{"another CA", newTestLeaf(t, other, otherKey, now.Add(-time.Hour), now.Add(time.Hour), "localhost", "127.0.0.1"),
			[]string{"does not verify against the credential's ca.pem", "--ra", `issued by "CN=another CA"`, "--tls-cert"}, "clock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("the request reached the server: %s %s", r.Method, r.URL)
			}))
			ts.TLS = &tls.Config{Certificates: []tls.Certificate{tc.leaf}}
			ts.StartTLS()
			defer ts.Close()
			c, err := NewClientTLS(ts.URL, &tls.Config{RootCAs: pool})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Enrol(context.Background(), raapi.EnrolRequest{UserID: eui64.MustParse("90-B3-D5-1F-30-05-00-00"), Profile: "xml-signing", CSR: []byte("x")})
			if !errors.Is(err, ErrUnreachable) {
				t.Fatalf("got %v, want E_RA_UNREACHABLE", err)
			}
			msg := err.Error()
			for _, w := range append(tc.want, "nothing was sent") {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, tc.never) || strings.Contains(msg, "may have been carried out") {
				t.Errorf("%q says %q or that the request may have been carried out", msg, tc.never)
			}
			if m := librarytext.Find(msg); m != "" {
				t.Errorf("library text %q in %q", m, msg)
			}
			if MayHaveActed(err) {
				t.Error("MayHaveActed: true for a request the handshake stopped before it was sent")
			}
		})
	}
	if !MayHaveActed(unreachable(http.MethodPost, "https://ra", context.DeadlineExceeded)) {
		t.Error("MayHaveActed: false for a POST that timed out")
	}
}

func newTestCA(t *testing.T, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func newTestLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, from, to time.Time, names ...string) tls.Certificate {
	t.Helper()
	return newTestLeafUsage(t, ca, caKey, from, to, "ra", x509.ExtKeyUsageServerAuth, names...)
}

// newTestLeafUsage is a certificate from ca for cn and names, valid from
// from to to, with extended key usage eku, and its key.
func newTestLeafUsage(t *testing.T, ca *x509.Certificate, caKey any, from, to time.Time, cn string, eku x509.ExtKeyUsage, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn}, NotBefore: from, NotAfter: to,
		ExtKeyUsage: []x509.ExtKeyUsage{eku}, KeyUsage: x509.KeyUsageDigitalSignature}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
