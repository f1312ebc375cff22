package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// pgPair is two servers on one PostgreSQL schema, the second started from
// a copy of the first's data directory (docs/operations.md, "Several
// instances on PostgreSQL").
type pgPair struct {
	a, b   *Server
	dataA  string
	client *http.Client // trusts the access root; no client certificate
	admin  *x509.Certificate
}

func openPGPair(t *testing.T) *pgPair {
	t.Helper()
	url := pgtest.SchemaURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	var done []chan error
	t.Cleanup(func() {
		cancel()
		for _, d := range done {
			select {
			case <-d:
			case <-time.After(30 * time.Second):
				t.Error("Serve did not return after cancel")
			}
		}
	})
	start := func(data string) *Server {
		s, err := Open(ctx, Config{DataDir: data, Listen: "127.0.0.1:0", Dev: true, Store: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		d := make(chan error, 1)
		done = append(done, d)
		go func() { d <- s.Serve(ctx) }()
		return s
	}
	p := &pgPair{dataA: filepath.Join(t.TempDir(), "a")}
	p.a = start(p.dataA)
	dataB := filepath.Join(t.TempDir(), "b")
	if out, err := exec.Command("cp", "-a", p.dataA, dataB).CombinedOutput(); err != nil {
		t.Fatalf("copying the data directory: %v %s", err, out)
	}
	p.b = start(dataB)
	rootPEM, err := os.ReadFile(filepath.Join(p.dataA, "access", "access-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(rootPEM)
	p.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	adminTLS, err := credential.ClientTLS(filepath.Join(p.dataA, "officers", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	if p.admin, err = x509.ParseCertificate(adminTLS.Certificates[0].Certificate[0]); err != nil {
		t.Fatal(err)
	}
	return p
}

// actor authenticates the bootstrap admin on s.
func (p *pgPair) actor(t *testing.T, s *Server) ra.Actor {
	t.Helper()
	a, err := s.svc.Authenticate(context.Background(), p.admin)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// ocspStatus asks s's /ocsp about cert.
func (p *pgPair) ocspStatus(t *testing.T, s *Server, cert *x509.Certificate) int {
	t.Helper()
	oreq, err := xocsp.CreateRequest(cert, s.authority.Issuing(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.client.Post("https://"+s.Addr()+"/ocsp", "application/ocsp-request", bytes.NewReader(oreq))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	or, err := xocsp.ParseResponseForCert(body, cert, s.authority.Issuing())
	if err != nil {
		t.Fatalf("/ocsp on %s: HTTP %d: %v", s.Addr(), resp.StatusCode, err)
	}
	return or.Status
}

// TestTwoInstancesOCSPRevocation: a certificate revoked through instance
// A is answered revoked by instance B's OCSP responder within the bound
// docs/repository.md gives (the responder polls the store every 200 ms).
func TestTwoInstancesOCSPRevocation(t *testing.T) {
	t.Parallel()
	p := openPGPair(t)
	cert := p.a.ocsp.ResponderCertificate()
	if st := p.ocspStatus(t, p.b, cert); st != xocsp.Good {
		t.Fatalf("before the revocation B answers %d, want good", st)
	}
	// The CA's revocation transaction, as the RA's Revoke runs it (the
	// responder certificate is no Organisation Certificate the RA revokes).
	if _, err := p.a.authority.Revoke(context.Background(), []string{cert.SerialNumber.Text(16)}, 4, time.Now()); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for p.ocspStatus(t, p.b, cert) != xocsp.Revoked {
		if time.Since(revoked) > 2*time.Second {
			t.Fatalf("B still answers good 2s after the revocation through A")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("B answers revoked %v after the revocation through A", time.Since(revoked).Round(time.Millisecond))
}

// TestTwoInstancesBundleAndFeed: after a change through instance A, B's
// conditional bundle refresh with the ETag B gave before is a new bundle,
// not a 304, in both forms; B's feed and repository answer the
// revocation at once.
func TestTwoInstancesBundleAndFeed(t *testing.T) {
	t.Parallel()
	p := openPGPair(t)
	ctx := context.Background()
	actA, actB := p.actor(t, p.a), p.actor(t, p.b)
	etags := map[ra.BundleCertificates]string{}
	for _, form := range []ra.BundleCertificates{ra.BundleEmbedded, ra.BundleOmitted} {
		ans, err := p.b.svc.ExportBundleIf(ctx, actB, "", form)
		if err != nil {
			t.Fatal(err)
		}
		again, err := p.b.svc.ExportBundleIf(ctx, actB, ans.ETag, form)
		if err != nil || !again.NotModified {
			t.Fatalf("B's refresh with its own ETag: %+v %v, want 304", again.NotModified, err)
		}
		etags[form] = ans.ETag
	}
	// A policy change through A.
	pol, err := p.a.svc.Policy(ctx, actA)
	if err != nil {
		t.Fatal(err)
	}
	srvs := []string{"1.6"}
	for _, l := range pol {
		if l.Role == role.SoLRContingency && len(l.SRVs) > 0 {
			srvs = []string{} // differs from the current list either way
		}
	}
	if _, err := p.a.svc.SetAllowList(ctx, actA, role.SoLRContingency, srvs); err != nil {
		t.Fatal(err)
	}
	for form, etag := range etags {
		ans, err := p.b.svc.ExportBundleIf(ctx, actB, etag, form)
		if err != nil {
			t.Fatal(err)
		}
		if ans.NotModified {
			t.Errorf("bundle (embedded %v) on B after an allow-list change through A: 304, want a new bundle", form)
		}
		etags[form] = ans.ETag
	}
	// A revocation through A: B's bundle, feed, repository.
	cert := p.a.ocsp.ResponderCertificate()
	serial := cert.SerialNumber.Text(16)
	get := func(path, etag string) (int, string) {
		req, _ := http.NewRequest("GET", "https://"+p.b.Addr()+path, nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := p.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	repoTags := map[string]string{}
	for _, path := range []string{"/repo/crl/orl.crl", "/repo/certs/" + serial + ".json", "/repo/index.json"} {
		code, tag := get(path, "")
		if code != 200 {
			t.Fatalf("B %s: %d", path, code)
		}
		repoTags[path] = tag
	}
	var seq uint64
	if err := p.b.st.View(ctx, func(tx store.Tx) error { var err error; seq, err = tx.RevocationSeq(); return err }); err != nil {
		t.Fatal(err)
	}
	fed := make(chan error, 1)
	go func() {
		// Held on B before the revocation through A.
		env, err := p.b.svc.Revocations(ctx, actB, seq, 10*time.Second)
		if err == nil {
			var page *bundle.FeedPage
			roots := x509.NewCertPool()
			roots.AddCert(p.b.authority.Root())
			if page, err = bundle.OpenFeedPage(env, roots, time.Now()); err == nil && len(page.Revoked) != 1 {
				err = fmt.Errorf("feed page after %d: %d entries, want 1", seq, len(page.Revoked))
			}
		}
		fed <- err
	}()
	time.Sleep(300 * time.Millisecond)
	revoked := time.Now()
	if _, err := p.a.authority.Revoke(ctx, []string{serial}, 4, time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-fed:
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("B's held feed request answered %v after the revocation through A", time.Since(revoked).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("B's held feed request not answered 5s after the revocation through A")
	}
	for path, tag := range repoTags {
		if code, _ := get(path, tag); code != 200 {
			t.Errorf("B %s with the ETag from before the revocation through A: %d, want 200", path, code)
		}
	}
	for form, etag := range etags {
		ans, err := p.b.svc.ExportBundleIf(ctx, actB, etag, form)
		if err != nil {
			t.Fatal(err)
		}
		if ans.NotModified {
			t.Errorf("bundle (embedded %v) on B after a revocation through A: 304, want a new bundle", form)
		}
	}
}
