package verifycmd_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/cli/verifycmd"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/raserver"
	"github.com/smki/smki/raclient"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/verifier"
	"github.com/smki/smki/verifier/xmldsig"
)

// raUnderTest is a real RA (bbolt store, CA, system signer) served over
// HTTPS with client certificates required, as `smki serve` runs it.
type raUnderTest struct {
	dir   string
	url   string
	admin *raclient.Client
	ca    *ca.CA
}

func startRA(t *testing.T) *raUnderTest {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := ca.Config{Dir: dir, Passphrase: []byte("test passphrase")}
	if err := ca.Init(ctx, st, cfg, ca.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	authority, err := ca.Open(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { authority.Close() })
	access, err := ownpki.OpenAccessCA(filepath.Join(dir, "access"), authority.KeyStore(), time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ownpki.OpenSystemSigner(ctx, filepath.Join(dir, "ra"), authority.KeyStore(), authority, ownpki.DefaultSystemID, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := ra.New(st, authority, access, ra.WithSystemSigner(signer))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Bootstrap(ctx, dir); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(raserver.NewServer(svc))
	if ts.TLS, err = access.TLSConfig(); err != nil {
		t.Fatal(err)
	}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.Config.RegisterOnShutdown(svc.DrainFeed)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	admin, err := raclient.NewClient(ts.URL, filepath.Join(dir, "officers", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	return &raUnderTest{dir: dir, url: ts.URL, admin: admin, ca: authority}
}

// credential appoints an officer and writes its credential directory.
func (r *raUnderTest) credential(t *testing.T, by *raclient.Client, req ra.OfficerRequest) string {
	t.Helper()
	_, cred, err := by.AppointOfficer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(r.dir, "cred", req.ID)
	if err := ownpki.WriteCredential(dir, cred); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writePEM(t *testing.T, path string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestVerifierFollowsRA: a verifier built from the RA's signed bundle and
// following the RA over mTLS with a "verifier" credential (the wiring of
// `smki verifier serve --ra --officer`) rejects a certificate REVOKED once
// the RA revokes it, without a restart or a new bundle.
func TestVerifierFollowsRA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := startRA(t)
	pid, uid := eui64.MustParse("90-B3-D5-1F-30-00-00-01"), eui64.MustParse("90-B3-D5-1F-30-01-00-01")
	if _, err := r.admin.CreateParty(ctx, pid, "Supplier A"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.admin.CreateUser(ctx, uid, pid, role.ImportSupplier, "Supplier A IS"); err != nil {
		t.Fatal(err)
	}
	sro, err := raclient.NewClient(r.url, r.credential(t, r.admin, ra.OfficerRequest{ID: "sro-a", Name: "SRO A", Kind: ra.KindSRO, PartyID: pid}))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := ra.NewCSR(key, uid, role.ImportSupplier, ca.XMLSigning, "")
	if err != nil {
		t.Fatal(err)
	}
	is, err := sro.Enrol(ctx, ra.EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: csr})
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(is.CertPEM)
	cert, err := dccx509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	verifierDir := r.credential(t, r.admin, ra.OfficerRequest{ID: "verifier-1", Name: "Sidecar 1", Kind: ra.KindVerifier})

	// What an operator installs: the trust directory and the RA's bundle.
	trust := filepath.Join(r.dir, "trust")
	if err := os.MkdirAll(trust, 0o755); err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(trust, "root.pem"), r.ca.Root().Raw)
	writePEM(t, filepath.Join(trust, "issuing-ca.pem"), r.ca.Issuing().Raw)
	vc, err := raclient.NewClient(r.url, verifierDir)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := vc.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bundlePath := filepath.Join(r.dir, "bundle.json")
	if err := os.WriteFile(bundlePath, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := verifycmd.BuildVerifier(bundlePath, trust, time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(r.ca.Root())

	// Without a client certificate the RA serves nothing.
	anon := &verifier.Follower{Verifier: v, BaseURL: r.url, Roots: roots, Client: &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: mustCredentialTLS(t, verifierDir).RootCAs}}}}
	if _, err := anon.SyncRevocations(ctx); !errors.Is(err, verifier.ErrFeedHTTP) {
		t.Fatalf("follower without a client certificate: %v, want %v", err, verifier.ErrFeedHTTP)
	}

	f, err := verifycmd.RAFollower(r.url, verifierDir, v, roots, time.Hour, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan uint64, 64)
	f.OnRevocations = func(seq uint64) {
		select {
		case seen <- seq:
		default:
		}
	}
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.Run(run); close(done) }()
	defer func() { stop(); <-done }()

	req := signedRequest(t, key, cert, uid)
	if d := v.Verify(req, time.Now()); d.Code == verifier.CodeREVOKED {
		t.Fatalf("before revocation: %+v", d)
	}
	res, err := sro.Revoke(ctx, ra.RevokeRequest{Serial: is.Cert.Serial, Reason: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := res.Revocations[0].Seq
	for got := uint64(0); got < want; {
		select {
		case got = <-seen:
		case <-time.After(20 * time.Second): // a hang guard, not a speed check
			t.Fatalf("the follower never applied seq %d", want)
		}
	}
	if d := v.Verify(req, time.Now()); d.Code != verifier.CodeREVOKED {
		t.Fatalf("after revocation: %+v, want %s", d, verifier.CodeREVOKED)
	}
}

func mustCredentialTLS(t *testing.T, dir string) *tls.Config {
	t.Helper()
	cfg, err := credential.ClientTLS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// signedRequest is a DUIS SR 1.6 (to Credit) signed with key.
func signedRequest(t *testing.T, key *ecdsa.PrivateKey, cert *x509.Certificate, uid eui64.ID) []byte {
	t.Helper()
	xml := fmt.Sprintf(`<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.1">`+
		`<sr:Header><sr:RequestID>%s:00-DB-12-34-56-78-90-A1:1</sr:RequestID><sr:CommandVariant>4</sr:CommandVariant>`+
		`<sr:ServiceReference>1.6</sr:ServiceReference><sr:ServiceReferenceVariant>1.6</sr:ServiceReferenceVariant></sr:Header>`+
		`<sr:Body><sr:UpdatePaymentMode><sr:Credit/></sr:UpdatePaymentMode></sr:Body></sr:Request>`, uid)
	out, err := xmldsig.Sign([]byte(xml), key, cert, xmldsig.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRAFollowerArguments: `verifier serve --ra` refuses, as usage errors,
// what cannot work: a plain-HTTP RA, no credential, a broken credential.
func TestRAFollowerArguments(t *testing.T) {
	t.Parallel()
	good := t.TempDir()
	for _, f := range []string{"cert.pem", "key.pem", "ca.pem"} {
		if err := os.WriteFile(filepath.Join(good, f), []byte("not PEM"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, url, dir string
	}{
		{"plain http", "http://127.0.0.1:8443", good},
		{"no host", "https://", good},
		{"no credential", "https://127.0.0.1:8443", ""},
		{"missing credential", "https://127.0.0.1:8443", filepath.Join(good, "absent")},
		{"unparsable credential", "https://127.0.0.1:8443", good},
	}
	for _, tt := range tests {
		_, err := verifycmd.RAFollower(tt.url, tt.dir, nil, nil, time.Minute, nil)
		if err == nil || verb.ExitCode(err) != verb.ExitUsage {
			t.Errorf("%s: %v, want a usage error", tt.name, err)
		}
	}

	// The same through the command line: exit 2 before serving anything.
	fx := verifyFixture(t, time.Now())
	base := []string{"verifier", "serve", "--listen", "127.0.0.1:0", "--bundle", filepath.Join(fx, "bundle.json"), "--trust", filepath.Join(fx, "trust")}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--ra", "https://127.0.0.1:8443"}, "--ra needs --officer"},
		{[]string{"--ra", "http://127.0.0.1:8443", "--officer", good}, "want https://"},
		{[]string{"--officer", good}, "--officer is only for --ra"},
	} {
		code, _, stderr := run(t, nil, append(base, tt.args...)...)
		if code != verb.ExitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d (%s), want %d with %q", tt.args, code, stderr, verb.ExitUsage, tt.want)
		}
	}
}
