package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store/bolt"
	xocsp "golang.org/x/crypto/ocsp"
)

// TestServeExpiredIssuingCA: smki serve restarted on a data directory
// whose Issuing OCA has expired since it last ran (a CA left to run out)
// still serves revocation: it starts (keeping the RA system signer it
// cannot replace), /readyz is 503 naming the expiry, the ARL and ORL are
// served, a certificate issued before the expiry is revoked and the ORL
// re-signed listing it, and /ocsp answers "unauthorized" (no responder
// certificate can be issued). An enrolment fails E_CA_EXPIRED (503, exit
// 1: not the request's fault) saying why, not "internal error".
func TestServeExpiredIssuingCA(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	data, pass, old, issuing := expiredIssuingCA(t, work, true)
	ra := serveExpiredIssuing(t, work, data, pass, old, issuing)
	// The bundle: signed by the system signer kept.
	ra.as(filepath.Join(data, "officers", "admin")).must("bundle", "export", "--out", filepath.Join(work, "bundle.json"))
}

// TestServeIssuingCAExpiredBeforeFirstServe: smki serve started for the
// first time on a data directory whose Issuing OCA has already expired
// (smki ca init, or a backup restored onto a new host, with no RA system
// signer yet) starts as TestServeExpiredIssuingCA's does: revocation and
// the CRLs work, enrolment is E_CA_EXPIRED. No system signer can be
// made, so the signed bundle (and the feed) are refused 503 E_CA_EXPIRED
// saying why, not "internal error".
func TestServeIssuingCAExpiredBeforeFirstServe(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	data, pass, old, issuing := expiredIssuingCA(t, work, false)
	ra := serveExpiredIssuing(t, work, data, pass, old, issuing)
	if r := ra.as(filepath.Join(data, "officers", "admin")).run("bundle", "export", "--out", filepath.Join(work, "bundle.json")); r.code != 1 ||
		!strings.Contains(r.stderr, "E_CA_EXPIRED") || !strings.Contains(r.stderr, "no RA system signer") {
		t.Errorf("bundle export with no system signer and the Issuing OCA expired: exit %d %q, want 1 with E_CA_EXPIRED saying there is no RA system signer", r.code, r.stderr)
	}
}

// serveExpiredIssuing starts smki serve on expiredIssuingCA's data and
// checks what must work with the Issuing OCA expired: start, /readyz 503
// naming the expiry, the ARL and ORL served, enrolment E_CA_EXPIRED (503,
// exit 1) saying why, old revoked and listed in a re-signed ORL, /ocsp
// unauthorized. It returns the SRO's session.
func serveExpiredIssuing(t *testing.T, work, data, pass string, old, issuing *x509.Certificate) raSession {
	t.Helper()
	srv := startServer(t, exec.Command(smkiBin, "serve", "--passphrase-file", pass), data)
	if code, body := srv.get(t, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(string(body), "Issuing OCA certificate expired") {
		t.Errorf("/readyz = %d %s, want 503 naming the expired Issuing OCA", code, body)
	}
	for _, p := range []string{"/crl/arl.crl", "/crl/orl.crl"} {
		if code, _ := srv.get(t, p); code != http.StatusOK {
			t.Errorf("GET %s = %d, want the CRL served", p, code)
		}
	}
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
	ra, srpSC := srpSCAsSRO(t, ra, work) // the party, its SC user and its SRO

	// Enrolment: E_CA_EXPIRED, the RA's fault (503, exit 1), not the
	// request's, and saying why.
	if r := ra.run("enroll", "--user-id", srpSC, "--profile", "xml-signing", "--csr", scCSR(t, work, "sc2", srpSC)); r.code != 1 ||
		!strings.Contains(r.stderr, "E_CA_EXPIRED") || !strings.Contains(r.stderr, "Issuing OCA certificate has expired") {
		t.Errorf("enroll with the Issuing OCA expired: exit %d %q, want 1 with E_CA_EXPIRED saying the Issuing OCA has expired", r.code, r.stderr)
	}

	// Revocation of the certificate issued before the expiry: recorded,
	// and the ORL re-signed listing it.
	serial := ca.SerialHex(old.SerialNumber)
	if r := ra.must("revoke", "--serial", serial, "--reason", "keyCompromise"); strings.Contains(r.stdout, "ORL not reissued") {
		t.Errorf("revoke with the Issuing OCA expired: %s, want the ORL reissued", r.stdout)
	}
	_, der := srv.get(t, "/crl/orl.crl")
	orl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("ORL: %v", err)
	}
	listed := false
	for _, e := range orl.RevokedCertificateEntries {
		listed = listed || e.SerialNumber.Cmp(old.SerialNumber) == 0
	}
	if !listed {
		t.Errorf("the ORL (number %v) does not list %s revoked with the Issuing OCA expired", orl.Number, serial)
	}
	if err := orl.CheckSignatureFrom(issuing); err != nil {
		t.Errorf("the ORL signed with the Issuing OCA expired does not verify under it: %v", err)
	}

	// OCSP: no responder certificate can be issued any more; /ocsp
	// answers "unauthorized" (the relying party checks the ORL).
	req, err := xocsp.CreateRequest(old, issuing, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.client.Post("https://"+srv.addr+"/ocsp", "application/ocsp-request", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, xocsp.UnauthorizedErrorResponse) {
		t.Errorf("POST /ocsp with the Issuing OCA expired = %d %x, want the unauthorized response", resp.StatusCode, body)
	}
	return ra
}

// expiredIssuingCA makes, in work/data, a CA made three days ago with an
// Issuing OCA valid for two, and a certificate it issued then for an SC
// user (old); with signer, also the RA system signer a server running
// then would have left (certified by the Issuing OCA, so expired with it).
// It returns the data directory, the passphrase file, old and the Issuing
// OCA.
func expiredIssuingCA(t *testing.T, work string, signer bool) (data, pass string, old, issuing *x509.Certificate) {
	t.Helper()
	data = filepath.Join(work, "data")
	pass = filepath.Join(work, "passphrase")
	if err := os.WriteFile(pass, []byte("expired CA e2e passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// A CA made three days ago with an Issuing OCA valid for two, and a
	// certificate it issued then for an SC user.
	const (
		srp1  = "90-B3-D5-1F-30-00-00-5C"
		srpSC = "90-B3-D5-1F-30-05-00-00"
	)
	csrPath := scCSR(t, work, "sc", srpSC)
	block, _ := pem.Decode(mustReadFile(t, csrPath))
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-72 * time.Hour)
	cfg := ca.Config{Dir: data, Passphrase: []byte("expired CA e2e passphrase"), Clock: func() time.Time { return past }}
	ctx := context.Background()
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(data, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Init(ctx, st, cfg, ca.InitOptions{IssuingValidity: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	authority, err := ca.Open(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	old, _, err = authority.Issue(ctx, ca.IssueRequest{CSR: csr, Profile: ca.XMLSigning, UserID: eui64.MustParse(srpSC), PartyID: eui64.MustParse(srp1), Role: role.SoLRContingency})
	if err != nil {
		t.Fatalf("issuing before the expiry: %v", err)
	}
	// What the server that ran then left: the RA system signer, certified
	// by the Issuing OCA and so expired with it.
	if signer {
		if _, err := ownpki.OpenSystemSigner(ctx, filepath.Join(data, "ra"), authority.KeyStore(), authority, ownpki.DefaultSystemID, past, nil); err != nil {
			t.Fatal(err)
		}
	}
	issuing = authority.Issuing()
	authority.Close()
	st.Close()
	if !old.NotAfter.Before(time.Now()) {
		t.Fatalf("the certificate issued before the expiry is valid to %s, want the past", old.NotAfter)
	}

	return data, pass, old, issuing
}

// TestCAARLExpiringRoot: `smki ca arl` on a ceremony data directory whose
// Root OCA has expired signs nothing and says so: exit 1, E_CA_EXPIRED
// and that a new Root OCA is needed on stderr, nothing on stdout, no
// --out and no temporary file left. Two days before the Root expires, a
// 30-day ARL is cut to the Root's notAfter, and the output says so.
func TestCAARLExpiringRoot(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		made    time.Duration // how long ago the CA was made
		expired bool
	}{
		{"root expired", 72 * time.Hour, true},
		{"root expires in two days", 24 * time.Hour, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			work := t.TempDir()
			data, pass := filepath.Join(work, "data"), filepath.Join(work, "passphrase")
			if err := os.WriteFile(pass, []byte("expiring root e2e passphrase\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			st, err := bolt.Open(filepath.Join(data, "smki.db"))
			if err != nil {
				t.Fatal(err)
			}
			past := time.Now().Add(-tt.made)
			cfg := ca.Config{Dir: data, Passphrase: []byte("expiring root e2e passphrase"), Clock: func() time.Time { return past }}
			if err := ca.Init(context.Background(), st, cfg, ca.InitOptions{RootValidity: 72 * time.Hour, IssuingValidity: 24 * time.Hour}); err != nil {
				t.Fatal(err)
			}
			authority, err := ca.Open(context.Background(), st, cfg)
			if err != nil {
				t.Fatal(err)
			}
			root := authority.Root()
			authority.Close()
			st.Close()
			out := filepath.Join(work, "arl.crl")
			r := run(t, nil, "ca", "arl", "--data", data, "--passphrase-file", pass, "--lifetime", "30d", "--out", out)
			left, _ := filepath.Glob(filepath.Join(work, ".*"))
			if tt.expired {
				if r.code != 1 || !strings.Contains(r.stderr, "E_CA_EXPIRED") || !strings.Contains(r.stderr, "new Root OCA") || r.stdout != "" {
					t.Errorf("ca arl with the Root expired: exit %d\nstdout: %s\nstderr: %s\nwant exit 1, E_CA_EXPIRED naming a new Root OCA, nothing on stdout", r.code, r.stdout, r.stderr)
				}
				if _, err := os.Stat(out); err == nil || len(left) != 0 {
					t.Errorf("a refused ca arl left %s (%v) or temporary files %v", out, err, left)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("ca arl two days before the Root expires: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			arl, err := x509.ParseRevocationList(mustReadFile(t, out))
			if err != nil || !arl.NextUpdate.Equal(root.NotAfter) {
				t.Errorf("ARL written: %v; nextUpdate %v, want cut to the Root's notAfter %v", err, arl.NextUpdate, root.NotAfter)
			}
			if !strings.Contains(r.stdout, "cut to the Root OCA's notAfter") {
				t.Errorf("ca arl output does not say the nextUpdate was cut:\n%s", r.stdout)
			}
		})
	}
}
