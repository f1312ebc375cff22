package raserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/role"
)

func TestSoLROverHTTP(t *testing.T) {
	t.Parallel()
	e, ts := newSignedTestServer(t)
	ctx := context.Background()
	admin := client(t, e, ts.URL, filepath.Join(e.dir, "officers", "admin"))
	approver := ownKeyClient(t, e, ts.URL, filepath.Join(e.dir, "officers", "approver"), "approver")
	sup, srp := eui64.MustParse("90-B3-D5-1F-30-00-00-0A"), eui64.MustParse("90-B3-D5-1F-30-00-00-5C")
	isU, scU := eui64.MustParse("90-B3-D5-1F-30-01-00-00"), eui64.MustParse("90-B3-D5-1F-30-05-00-00")
	for _, p := range []eui64.ID{sup, srp} {
		if _, err := admin.CreateParty(ctx, p, "p"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.CreateUser(ctx, isU, sup, role.ImportSupplier, "is"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateUser(ctx, scU, srp, role.SoLRContingency, "sc"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ImportDevices(ctx, []byte(devicefile.Header+"\n00-DB-12-34-56-78-90-A0,"+isU.String()+",2\n")); err != nil {
		t.Fatal(err)
	}
	_, err := admin.ImportDevices(ctx, []byte(devicefile.Header+"\n00-DB-12-34-56-78-90-A0,"+isU.String()+",7\n"))
	if ae, ok := err.(*raclient.APIError); !ok || ae.Code != ra.ErrDeviceFile.Error() || ae.Status != 400 {
		t.Fatalf("bad device file: %v", err)
	}
	// The client sends the file as text/csv; the JSON form still works.
	jsonBody, _ := json.Marshal(raapi.DevicesBody{CSV: devicefile.Header + "\n00-DB-12-34-56-78-90-A0," + isU.String() + ",2\n"})
	if st, code := post(t, admin, ts.URL+"/v1/devices", "application/json", jsonBody); st != http.StatusOK {
		t.Fatalf("JSON device import: %d %s", st, code)
	}
	if st, code := post(t, admin, ts.URL+"/v1/devices", raapi.MediaCSV, []byte("not,a\ndevice file")); code != ra.ErrDeviceFile.Error() || st != http.StatusBadRequest {
		t.Fatalf("garbage text/csv: %d %s", st, code)
	}
	// A dry run answers what the import would do; a dry_run that is
	// neither true nor false is refused, not taken for an import.
	if dry, err := admin.CheckDevices(ctx, []byte(devicefile.Header+"\n00-DB-12-34-56-78-90-A1,"+isU.String()+",2\n")); err != nil || !dry.DryRun || dry.Added != 1 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if st, code := post(t, admin, ts.URL+"/v1/devices?dry_run=yes", raapi.MediaCSV, []byte(devicefile.Header+"\n00-DB-12-34-56-78-90-A1,"+isU.String()+",2\n")); code != ra.ErrBadRequest.Error() || st != http.StatusBadRequest {
		t.Fatalf("dry_run=yes: %d %s", st, code)
	}
	if _, err := admin.SetAllowList(ctx, role.SoLRContingency, []string{"1.6"}); err != nil {
		t.Fatal(err)
	}
	res, err := admin.DeclareSoLR(ctx, ra.DeclareRequest{FailedParty: sup, SRPUser: scU, Instruction: "OFGEM-HTTP"})
	if err != nil || res.DryRun == nil || len(res.DryRun.Devices) != 1 {
		t.Fatalf("declare: %+v %v", res, err)
	}
	if _, err := admin.ApproveSoLR(ctx, res.Event.ID, ""); ra.CodeOf(err) != ra.ErrFourEyes.Error() {
		t.Fatalf("self-approval over HTTP: %v", err)
	}
	// An approval naming another dry run than the one that stands is
	// refused 409; one with no body (a client before the field) is read
	// as naming none.
	_, err = approver.ApproveSoLR(ctx, res.Event.ID, strings.Repeat("0", 64))
	if ae, ok := err.(*raclient.APIError); !ok || ae.Code != ra.ErrDryRunChanged.Error() || ae.Status != http.StatusConflict {
		t.Fatalf("approval of another dry run over HTTP: %v", err)
	}
	if st, code := post(t, approver, ts.URL+"/v1/solr-events/solr-none/approve", "application/json", nil); st != http.StatusNotFound || code != ra.ErrNotFound.Error() {
		t.Fatalf("approval with no body: %d %s, want the event looked up (404)", st, code)
	}
	got, err := approver.ApproveSoLR(ctx, res.Event.ID, res.DryRun.CertificatesSHA256)
	if err != nil || got.Event.State != bundle.EventActive {
		t.Fatalf("approve: %+v %v", got, err)
	}
	if es, err := approver.ListSoLR(ctx); err != nil || len(es) != 1 {
		t.Fatalf("list: %v %v", es, err)
	}
	if ls, err := approver.Policy(ctx); err != nil || len(ls) != len(role.All()) {
		t.Fatalf("policy: %v %v", ls, err)
	}
	// A verifier credential fetches the bundle over HTTP and nothing else.
	_, cred, err := admin.AppointOfficer(ctx, ra.OfficerRequest{ID: "verifier-1", Name: "Verifier sidecar", Kind: ra.KindVerifier})
	if err != nil {
		t.Fatal(err)
	}
	vdir := filepath.Join(t.TempDir(), "verifier")
	if err := ownpki.WriteCredential(vdir, cred); err != nil {
		t.Fatal(err)
	}
	vc := client(t, e, ts.URL, vdir)
	data, err := vc.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(data, e.roots(), e.clock.Now())
	if err != nil || len(b.SoLREvents) != 1 || len(b.Devices) != 1 {
		t.Fatalf("bundle over HTTP: %v", err)
	}
	if _, err := vc.ListSoLR(ctx); ra.CodeOf(err) != ra.ErrForbidden.Error() {
		t.Fatalf("verifier lists events: %v", err)
	}
	closed, err := admin.CloseSoLR(ctx, res.Event.ID, "ended")
	if err != nil || closed.State != bundle.EventClosed {
		t.Fatalf("close: %+v %v", closed, err)
	}
}

// TestFeedHTTP drives the endpoint over mTLS with the Go client, and
// without a client certificate.
func TestFeedHTTP(t *testing.T) {
	t.Parallel()
	f, ts := newSignedTestServer(t)
	s := scenarioOf(f)
	ctx := context.Background()
	rev := s.revokeOne(t)

	adminDir := filepath.Join(f.dir, "officers", "admin")
	cl := client(t, f, ts.URL, adminDir)
	env, err := cl.Revocations(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := bundle.OpenFeedPage(env, f.roots(), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if p.Seq != rev.Seq || len(p.Revoked) != 1 || p.Revoked[0].Serial != rev.Serial {
		t.Fatalf("page %+v", p)
	}
	if _, err := cl.Revocations(ctx, rev.Seq+1, 0); !errors.Is(err, ra.ErrBadRequest) {
		t.Errorf("since beyond current: %v", err)
	}
	for _, q := range []string{"", "?since=x", "?since=-1", "?since=0&wait=forever", "?since=0&wait=51s"} {
		if st, code := get2(t, cl, ts.URL+"/v1/revocations"+q); st != http.StatusBadRequest || code != ra.ErrBadRequest.Error() {
			t.Errorf("%q: %d %s, want 400 %s", q, st, code, ra.ErrBadRequest)
		}
	}

	// No TLS client certificate: the handler refuses before the Service
	// is asked anything.
	rec := httptest.NewRecorder()
	NewServer(f.svc).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/revocations?since=0", nil))
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), ra.ErrUnauthenticated.Error()) {
		t.Errorf("unauthenticated: %d %s", rec.Code, rec.Body)
	}
}

// post sends body as contentType with c's credential and returns the
// status and the error code of the answer ("" for none).
func post(t *testing.T, c *raclient.Client, url, contentType string, body []byte) (int, string) {
	t.Helper()
	resp, err := c.HTTPClient().Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return statusCode(t, resp)
}

// get2 is post for GET.
func get2(t *testing.T, c *raclient.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.HTTPClient().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return statusCode(t, resp)
}

func statusCode(t *testing.T, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	var eb raapi.ErrorBody
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &eb)
	return resp.StatusCode, eb.Error.Code
}

// revokeOne enrols one xml-signing certificate of the scenario's IS user
// and revokes it through the Service, returning its revocation record.
func (s *scenario) revokeOne(t *testing.T) ra.Revocation {
	t.Helper()
	ctx := context.Background()
	is, err := s.svc.Enrol(ctx, s.aroSup, ra.EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
		CSR: ratest.CSR(t, ratest.NewKey(t), s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ra.ModeEnrol})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.svc.Revoke(ctx, s.aroSup, ra.RevokeRequest{Serial: is.Cert.Serial, Reason: 1})
	if err != nil || len(res.Revocations) != 1 {
		t.Fatalf("revoke: %+v %v", res, err)
	}
	return res.Revocations[0]
}

// ownKeyClient renews officer id's credential (in dir) over HTTP with a
// key made here, as smki officer renew does, and returns a client on the
// new credential: an RA-made key does not approve SoLR events.
func ownKeyClient(t *testing.T, e *env, url, dir, id string) *raclient.Client {
	t.Helper()
	k := ratest.NewKey(t)
	_, cred, err := client(t, e, url, dir).RenewOfficerCredential(context.Background(), id, officerCSR(t, k))
	if err != nil {
		t.Fatal(err)
	}
	nd := t.TempDir()
	if err := os.WriteFile(filepath.Join(nd, "key.pem"), keyPEMOf(t, k), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ownpki.WriteCredential(nd, cred); err != nil {
		t.Fatal(err)
	}
	return client(t, e, url, nd)
}
