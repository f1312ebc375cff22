package e2e

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/internal/need"
	"github.com/smki/smki/internal/pgtest"
)

// TestRepoServeScaleOut: the repository and OCSP without the RA (issue
// 18). smki serve on PostgreSQL issues two certificates; two smki repo
// serve instances read the same database (read-only). openssl ocsp
// against one says good, and revoked (with the reason) soon after smki
// revoke on the RA (internalError until the RA has published it, never
// good once smki revoke has returned); both instances and the RA answer
// the OCSP request with the same bytes. Then both answer every repository URL (index, CA
// certificates, CRLs, the certificate in each form, its status, a
// search) with the same bytes as each other and as the RA's own /repo/.
func TestRepoServeScaleOut(t *testing.T) {
	t.Parallel()
	url := pgtest.SchemaURL(t)
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev", "--store", url), data)
	work := t.TempDir()
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
	const party, user = "90-B3-D5-1F-30-00-00-0C", "90-B3-D5-1F-30-01-00-0C"
	ra.must("party", "create", "--id", party, "--name", "supplier-c")
	ra.must("user", "create", "--id", user, "--party", party, "--role", "IS", "--name", "supplier-c-is")
	sro := filepath.Join(work, "sro")
	ra.must("officer", "add", "--id", "supc-sro", "--name", "Cy Dee", "--kind", "sro", "--party", party, "--out", sro)
	var serials []string
	for i := range 2 {
		key, csr, cert := filepath.Join(work, "u.key"), filepath.Join(work, "u.csr"), filepath.Join(work, fmt.Sprintf("u%d.pem", i))
		mustRun(t, nil, "keygen", "--out", key)
		mustRun(t, nil, "csr", "--key", key, "--user-id", user, "--profile", "xml-signing", "--out", csr)
		ra.as(sro).must("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr, "--out", cert)
		serials = append(serials, readPEMCert(t, cert).SerialNumber.Text(16))
		os.Remove(key)
	}
	var bases []string
	for range 2 {
		ready := filepath.Join(t.TempDir(), "ready")
		rs := launchServer(t, exec.Command(smkiBin, "repo", "serve", "--store", url, "--listen", "127.0.0.1:0", "--ready-file", ready), data, ready)
		bases = append(bases, "http://"+rs.addr)
	}

	// OCSP without the RA: openssl against a repo serve instance says
	// good, then revoked soon after smki revoke on the RA, and every
	// instance (and the RA) answers with the same bytes.
	openssl := need.Tool(t, "openssl", "openssl")
	issuer, root := filepath.Join(work, "issuing.pem"), filepath.Join(work, "root.pem")
	for file, path := range map[string]string{issuer: "/repo/ca/issuing.pem", root: "/repo/ca/root.pem"} {
		resp, err := http.Get(bases[0] + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(work, "u1.pem")
	opensslOCSP := func() string {
		t.Helper()
		out, err := exec.Command(openssl, "ocsp", "-issuer", issuer, "-cert", target, "-url", bases[0]+"/ocsp",
			"-CAfile", root, "-verify_other", issuer).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl ocsp: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := opensslOCSP(); !strings.Contains(out, "Response verify OK") || !strings.Contains(out, target+": good") {
		t.Fatalf("openssl against smki repo serve before revocation:\n%s", out)
	}
	issuerCert := readPEMCert(t, issuer)
	ocspReq, err := xocsp.CreateRequest(readPEMCert(t, target), issuerCert, nil)
	if err != nil {
		t.Fatal(err)
	}
	relyingPartyClients(t, openssl, bases[0], issuer, root, target, ocspReq)
	post := func(c *http.Client, u string) []byte {
		t.Helper()
		resp, err := c.Post(u+"/ocsp", "application/ocsp-request", bytes.NewReader(ocspReq))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	ra.as(sro).must("revoke", "--serial", serials[1], "--reason", "keyCompromise")
	revoked := time.Now()
	// Until the RA has published the revoked response, repo serve answers
	// internalError (the store says revoked), never the published good.
	for {
		r, err := xocsp.ParseResponse(post(http.DefaultClient, bases[0]), issuerCert)
		var re xocsp.ResponseError
		switch {
		case errors.As(err, &re) && re.Status == xocsp.InternalError: // not published yet: ask again
		case err != nil:
			t.Fatalf("smki repo serve OCSP answer: %v", err)
		case r.Status == xocsp.Revoked:
		default:
			t.Fatalf("smki repo serve's OCSP says status %d after smki revoke returned", r.Status)
		}
		if err == nil {
			break
		}
		if time.Since(revoked) > 30*time.Second {
			t.Fatal("smki repo serve's OCSP still not revoked 30 s after smki revoke returned")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("revocation visible over smki repo serve's OCSP %v after smki revoke returned", time.Since(revoked).Round(time.Millisecond))
	if out := opensslOCSP(); !strings.Contains(out, "Response verify OK") || !strings.Contains(out, target+": revoked") ||
		!strings.Contains(out, "Reason: keyCompromise") {
		t.Errorf("openssl against smki repo serve after revocation:\n%s", out)
	}
	// The RA serves what it published (it swaps its cache in just after
	// publishing, hence the bounded wait): all three agree byte for byte.
	live := post(srv.client, "https://"+srv.addr)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); live = post(srv.client, "https://"+srv.addr) {
		if r, err := xocsp.ParseResponse(live, issuerCert); err == nil && r.Status == xocsp.Revoked {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, b := range bases {
		if got := post(http.DefaultClient, b); !bytes.Equal(got, live) {
			t.Errorf("%s/ocsp: %d bytes differ from the RA's %d", b, len(got), len(live))
		}
	}

	paths := []string{"/repo/index.json", "/repo/ca/root.pem", "/repo/ca/issuing.der", "/repo/crl/orl.crl", "/repo/crl/arl.crl",
		"/repo/certs?party=" + party}
	for _, s := range serials {
		paths = append(paths, "/repo/certs/"+s, "/repo/certs/"+s+".der", "/repo/certs/"+s+".json")
	}
	get := func(c *http.Client, u string) []byte {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v\n%s", u, resp.StatusCode, err, b)
		}
		return b
	}
	for _, p := range paths {
		live := get(srv.client, "https://"+srv.addr+p)
		for _, b := range bases {
			if got := get(http.DefaultClient, b+p); !bytes.Equal(got, live) {
				t.Errorf("%s%s: %d bytes differ from the RA's %d", b, p, len(got), len(live))
			}
		}
	}
	if !bytes.Contains(get(http.DefaultClient, bases[0]+"/repo/certs/"+serials[1]+".json"), []byte(`"status": "revoked"`)) {
		t.Error("the standalone repository does not say the revoked certificate is revoked")
	}
}

// relyingPartyClients: what relying parties' clients send to smki repo
// serve at base (docs/repository.md, "What it answers"), for target, a
// good certificate whose OCSP request is der: openssl ocsp with the
// responder URL ending in a slash; GET /ocsp/{base64}, then HEAD of it and
// a revalidation with its ETag weakened (W/, as nginx sends it) answered
// 304; the ORL revalidated by HEAD with its ETag in a list, 304.
func relyingPartyClients(t *testing.T, openssl, base, issuer, root, target string, der []byte) {
	t.Helper()
	out, err := exec.Command(openssl, "ocsp", "-issuer", issuer, "-cert", target, "-url", base+"/ocsp/", "-CAfile", root, "-no_nonce").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Response verify OK") || !strings.Contains(string(out), target+": good") {
		t.Errorf("openssl ocsp -url %s/ocsp/: %v\n%s", base, err, out)
	}
	do := func(method, u, inm string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	get := base + "/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(der))
	first := do(http.MethodGet, get, "")
	etag := first.Header.Get("Etag")
	if first.StatusCode != 200 || etag == "" {
		t.Fatalf("GET %s: HTTP %d, ETag %q", get, first.StatusCode, etag)
	}
	if r := do(http.MethodHead, get, ""); r.StatusCode != 200 || r.Header.Get("Etag") != etag {
		t.Errorf("HEAD %s: HTTP %d, ETag %q; want 200 and the GET's %q", get, r.StatusCode, r.Header.Get("Etag"), etag)
	}
	if r := do(http.MethodGet, get, "W/"+etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("GET %s with If-None-Match W/%s: HTTP %d, want 304", get, etag, r.StatusCode)
	}
	orl := do(http.MethodGet, base+"/repo/crl/orl.crl", "")
	if orl.StatusCode != 200 || orl.Header.Get("Content-Type") != "application/pkix-crl" {
		t.Fatalf("GET /repo/crl/orl.crl: HTTP %d %q", orl.StatusCode, orl.Header.Get("Content-Type"))
	}
	if r := do(http.MethodHead, base+"/repo/crl/orl.crl", `"other", `+orl.Header.Get("Etag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("HEAD /repo/crl/orl.crl with its ETag in a list: HTTP %d, want 304", r.StatusCode)
	}
}

// readPEMCert reads the first certificate of a PEM file.
func readPEMCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s holds no PEM", file)
	}
	c, err := dccx509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
