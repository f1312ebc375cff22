package raserver

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/raclient"

	"github.com/smki/smki/ra"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

func newTestServer(t *testing.T) (*env, *httptest.Server) {
	t.Helper()
	e := newEnv(t)
	return e, startServer(t, e)
}

// newSignedTestServer is newTestServer whose RA publishes (bundle, feed).
func newSignedTestServer(t *testing.T) (*env, *httptest.Server) {
	t.Helper()
	e := newSignedEnv(t)
	return e, startServer(t, e)
}

// startServer serves e's Service over TLS with the access CA's mTLS
// configuration, at e's clock.
func startServer(t testing.TB, e *env) *httptest.Server {
	t.Helper()
	return startServerWrapped(t, e, func(h http.Handler) http.Handler { return h })
}

// startServerWrapped is startServer with the handler wrapped by wrap.
func startServerWrapped(t testing.TB, e *env, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(wrap(checkNoLibraryText(t, NewServer(e.svc, WithMaxBodyBytes(8<<10)))))
	cfg, err := e.svc.Access().TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Time = e.clock.Now // the test clock, not the wall clock, decides validity
	ts.TLS = cfg
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

func client(t *testing.T, e *env, url, dir string) *raclient.Client {
	t.Helper()
	c, err := raclient.NewClient(url, dir)
	if err != nil {
		t.Fatal(err)
	}
	c.HTTPClient().Transport.(*http.Transport).TLSClientConfig.Time = e.clock.Now
	return c
}

func TestServerEndToEnd(t *testing.T) {
	t.Parallel()
	e, ts := newTestServer(t)
	ctx := context.Background()
	admin := client(t, e, ts.URL, filepath.Join(e.dir, "officers", "admin"))
	if o, err := admin.Whoami(ctx); err != nil || o.ID != "admin" {
		t.Fatalf("whoami %+v %v", o, err)
	}
	srp, sup := eui64.MustParse("90-B3-D5-1F-30-00-00-12"), eui64.MustParse("90-B3-D5-1F-30-00-00-01")
	scID, isID := eui64.MustParse("90-B3-D5-1F-30-01-00-02"), eui64.MustParse("90-B3-D5-1F-30-01-00-01")
	for _, p := range []eui64.ID{srp, sup} {
		if _, err := admin.CreateParty(ctx, p, "ra.Party "+p.String()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.CreateUser(ctx, scID, srp, role.SoLRContingency, "SRP SC"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateUser(ctx, isID, sup, role.ImportSupplier, "Supplier IS"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateParty(ctx, srp, "again"); !errors.Is(err, ra.ErrExists) {
		t.Fatalf("duplicate party: %v", err)
	}
	_, cred, err := admin.AppointOfficer(ctx, ra.OfficerRequest{ID: "sro-srp", Name: "SRP SRO", Kind: ra.KindSRO, PartyID: srp})
	if err != nil {
		t.Fatal(err)
	}
	sroDir := filepath.Join(t.TempDir(), "sro")
	if err := ownpki.WriteCredential(sroDir, cred); err != nil {
		t.Fatal(err)
	}
	sro := client(t, e, ts.URL, sroDir)
	_, cred, err = sro.AppointOfficer(ctx, ra.OfficerRequest{ID: "aro-srp", Name: "SRP ARO", Kind: ra.KindARO, PartyID: srp})
	if err != nil {
		t.Fatal(err)
	}
	aroDir := filepath.Join(t.TempDir(), "aro")
	if err := ownpki.WriteCredential(aroDir, cred); err != nil {
		t.Fatal(err)
	}
	aro := client(t, e, ts.URL, aroDir)

	// R2 over the API: xml-signing issued, digital-signing and key-agreement refused.
	k := ratest.NewKey(t)
	is, err := aro.Enrol(ctx, ra.EnrolRequest{UserID: scID, Profile: ca.XMLSigning, CSR: ratest.CSR(t, k, scID, role.SoLRContingency, ca.XMLSigning)})
	if err != nil {
		t.Fatal(err)
	}
	ratest.CheckShape(t, ratest.ParseCert(t, is.CertPEM), role.SoLRContingency, ca.XMLSigning)
	for _, p := range []ca.Profile{ca.DigitalSigning, ca.KeyAgreement} {
		_, err := aro.Enrol(ctx, ra.EnrolRequest{UserID: scID, Profile: p, CSR: ratest.RawCSR(t, ratest.NewKey(t), scID, "7F")})
		var ae *raclient.APIError
		if !errors.As(err, &ae) || ae.Code != ra.ErrNotEligible.Error() || ae.Status != http.StatusForbidden {
			t.Fatalf("SC %s: %v", p, err)
		}
	}
	// Own party only: another party's user is not there (issue 12 finding 7).
	if _, err := aro.Enrol(ctx, ra.EnrolRequest{UserID: isID, Profile: ca.XMLSigning, CSR: ratest.CSR(t, ratest.NewKey(t), isID, role.ImportSupplier, ca.XMLSigning)}); !errors.Is(err, ra.ErrNotFound) {
		t.Fatalf("other party: %v", err)
	}
	if ps, err := aro.ListParties(ctx); err != nil || len(ps) != 1 || ps[0].ID != srp {
		t.Fatalf("ARO sees parties %v %v", ps, err)
	}
	// An unscoped query by a party officer means its own party's.
	if cs, err := aro.ListCertificates(ctx, ra.CertQuery{}); err != nil || len(cs) != 1 || cs[0].PartyID != srp.String() {
		t.Fatalf("ARO lists its own party's certificates: %+v %v", cs, err)
	}
	if _, err := aro.ListCertificates(ctx, ra.CertQuery{PartyID: sup}); !errors.Is(err, ra.ErrForbidden) {
		t.Fatalf("ARO lists another party's: %v", err)
	}
	// Bulk revoke: dry run, then yes.
	dry, err := sro.Revoke(ctx, ra.RevokeRequest{PartyID: srp, Reason: 5})
	if err != nil || !dry.DryRun || len(dry.Certificates) != 1 {
		t.Fatalf("dry %+v %v", dry, err)
	}
	done, err := sro.Revoke(ctx, ra.RevokeRequest{PartyID: srp, Reason: 5, Yes: true})
	if err != nil || len(done.Revocations) != 1 {
		t.Fatalf("revoke %+v %v", done, err)
	}
	ci, err := aro.GetCertificate(ctx, is.Cert.Serial)
	if err != nil || ci.Status != "revoked" || ci.Reason == nil || *ci.Reason != 5 || !strings.Contains(ci.PEM, "BEGIN CERTIFICATE") {
		t.Fatalf("after revoke %+v %v", ci, err)
	}
	// Removing the ARO takes effect on its next request.
	if _, err := sro.RemoveOfficer(ctx, "aro-srp"); err != nil {
		t.Fatal(err)
	}
	if _, err := aro.Whoami(ctx); !errors.Is(err, ra.ErrOfficerInactive) {
		t.Fatalf("removed ARO: %v", err)
	}
	if rep, err := admin.VerifyAudit(ctx); err != nil || !rep.OK || rep.Entries < 10 {
		t.Fatalf("audit %+v %v", rep, err)
	}
	// Metrics count what happened.
	body := get(t, admin, ts.URL+"/metrics")
	for _, want := range []string{
		`smki_ra_certificates_issued_total{mode="enrol",profile="xml-signing"} 1`,
		`smki_ra_certificates_revoked_total{reason="cessationOfOperation"} 1`,
		`smki_ra_refusals_total{code="E_RA_NOT_ELIGIBLE"} 2`,
		`smki_ra_refusals_total{code="E_RA_OFFICER_INACTIVE"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if y := get(t, admin, ts.URL+"/openapi.yaml"); !strings.Contains(y, "/v1/enroll") {
		t.Error("openapi.yaml does not describe /v1/enroll")
	}
}

func get(t *testing.T, c *raclient.Client, url string) string {
	t.Helper()
	resp, err := c.HTTPClient().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	e, ts := newTestServer(t)
	admin := client(t, e, ts.URL, filepath.Join(e.dir, "officers", "admin"))
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown field", "POST", "/v1/parties", `{"id":"90-B3-D5-1F-30-00-00-01","name":"x","admin":true}`, 400, "E_RA_BAD_REQUEST"},
		{"trailing data", "POST", "/v1/parties", `{"id":"90-B3-D5-1F-30-00-00-01","name":"x"} {}`, 400, "E_RA_BAD_REQUEST"},
		{"bad EUI-64", "POST", "/v1/parties", `{"id":"nope","name":"x"}`, 400, "E_RA_INVALID_ID"},
		{"bad role", "POST", "/v1/users", `{"id":"90-B3-D5-1F-30-01-00-01","party_id":"90-B3-D5-1F-30-00-00-01","role":"XX","name":"x"}`, 400, "E_RA_INVALID_ROLE"},
		{"too large", "POST", "/v1/parties", `{"id":"90-B3-D5-1F-30-00-00-01","name":"` + strings.Repeat("a", 9<<10) + `"}`, 413, "E_RA_TOO_LARGE"},
		{"system profile", "POST", "/v1/enroll", `{"user_id":"90-B3-D5-1F-30-01-00-01","profile":"dsp-xml-signing","csr":"x"}`, 400, "E_RA_INVALID_PROFILE"},
		{"bad reason", "POST", "/v1/revoke", `{"serial":"01","reason":"cACompromise"}`, 400, "E_RA_BAD_REASON"},
		{"unknown party", "GET", "/v1/parties/90-B3-D5-1F-30-00-00-77", "", 404, "E_RA_NOT_FOUND"},
		{"no route", "GET", "/v2/x", "", 404, "E_RA_NOT_FOUND"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
			resp, err := admin.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), `"code": "`+tc.code+`"`) {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		})
	}
	// No client certificate: the TLS layer refuses before any handler.
	noCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.svc.Access().Pool(), Time: e.clock.Now}}}
	if resp, err := noCert.Get(ts.URL + "/v1/whoami"); err == nil {
		resp.Body.Close()
		t.Fatal("request without client certificate succeeded")
	}
	// A handler reached without TLS refuses too.
	rec := httptest.NewRecorder()
	NewServer(e.svc).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/whoami", nil))
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "E_RA_UNAUTHENTICATED") {
		t.Fatalf("plain HTTP: %d %s", rec.Code, rec.Body)
	}
}
