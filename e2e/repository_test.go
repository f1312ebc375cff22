package e2e

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/internal/need"
)

// TestRepositoryRevocationVisible drives the SMKI Repository and OCSP on
// the real binary with real curl and openssl: an enrolled certificate by
// serial returns the enrolled bytes and 304 on If-None-Match; the ORL's
// max-age ends no later than its nextUpdate; openssl ocsp and smki cert
// status answer good, and after smki revoke they (and the repository)
// answer revoked with the reason and time; smki repo mirror writes a tree
// that a plain file server serves byte for byte as the live one, and that
// smki repo serve --dir serves with the live headers and 304s too.
func TestRepositoryRevocationVisible(t *testing.T) {
	t.Parallel()
	openssl := need.Tool(t, "openssl", "openssl")
	curl := need.Tool(t, "curl", "curl")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	work := t.TempDir()
	base := "https://" + srv.addr
	tlsCA := filepath.Join(data, "access", "access-root.pem")
	ra := raSession{t: t, url: base, officer: filepath.Join(data, "officers", "admin")}
	const party, user = "90-B3-D5-1F-30-00-00-0B", "90-B3-D5-1F-30-01-00-0B"
	ra.must("party", "create", "--id", party, "--name", "supplier-b")
	ra.must("user", "create", "--id", user, "--party", party, "--role", "IS", "--name", "supplier-b-is")
	sro := filepath.Join(work, "sro")
	ra.must("officer", "add", "--id", "supb-sro", "--name", "Bea Cee", "--kind", "sro", "--party", party, "--out", sro)
	key, csr, certFile := filepath.Join(work, "u.key"), filepath.Join(work, "u.csr"), filepath.Join(work, "u.pem")
	mustRun(t, nil, "keygen", "--out", key)
	mustRun(t, nil, "csr", "--key", key, "--user-id", user, "--profile", "xml-signing", "--out", csr)
	ra.as(sro).must("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr, "--out", certFile)
	enrolled, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(enrolled)
	if blk == nil {
		t.Fatalf("enrolled file holds no PEM:\n%s", enrolled)
	}
	cert, err := dccx509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	serial := cert.SerialNumber.Text(16)

	// curl: the enrolled bytes by serial, then 304 on its ETag.
	curlGet := func(path string, hdr ...string) (code int, headers string, body []byte) {
		t.Helper()
		hf := filepath.Join(work, "headers")
		os.Remove(filepath.Join(work, "body")) // curl leaves it as it was on a 304
		args := []string{"-s", "--cacert", tlsCA, "-D", hf, "-o", filepath.Join(work, "body"), "-w", "%{http_code}"}
		for _, h := range hdr {
			args = append(args, "-H", h)
		}
		out, err := exec.Command(curl, append(args, base+path)...).Output()
		if err != nil {
			t.Fatalf("curl %s: %v", path, err)
		}
		code, _ = strconv.Atoi(string(out))
		h, _ := os.ReadFile(hf)
		body, _ = os.ReadFile(filepath.Join(work, "body"))
		return code, string(h), body
	}
	header := func(headers, name string) string {
		for _, l := range strings.Split(headers, "\r\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	code, h, body := curlGet("/repo/certs/" + serial + ".der")
	if code != 200 || !bytes.Equal(body, cert.Raw) {
		t.Fatalf("curl /repo/certs/%s.der: %d, %d bytes; want the enrolled %d", serial, code, len(body), len(cert.Raw))
	}
	if code, _, body := curlGet("/repo/certs/"+serial+".der", "If-None-Match: "+header(h, "ETag")); code != 304 || len(body) != 0 {
		t.Errorf("If-None-Match: %d, %d bytes; want 304", code, len(body))
	}
	if code, _, body := curlGet("/repo/certs/" + serial); code != 200 || !bytes.Equal(body, pem.EncodeToMemory(blk)) {
		t.Errorf("PEM by serial: %d, not the enrolled certificate", code)
	}

	// The ORL's max-age ends at its nextUpdate.
	code, h, body = curlGet("/repo/crl/orl.crl")
	asked := time.Now()
	orl, err := x509.ParseRevocationList(body)
	if code != 200 || err != nil {
		t.Fatalf("ORL: %d, %v", code, err)
	}
	ma, ok := strings.CutPrefix(header(h, "Cache-Control"), "public, max-age=")
	maxAge, err := strconv.Atoi(ma)
	if !ok || err != nil || maxAge <= 0 || time.Duration(maxAge)*time.Second > orl.NextUpdate.Sub(asked.Add(-time.Minute)) {
		t.Errorf("ORL Cache-Control %q; nextUpdate %s", header(h, "Cache-Control"), orl.NextUpdate)
	}

	// OCSP, openssl and smki cert status: good.
	issuer, root := filepath.Join(work, "issuing.pem"), filepath.Join(work, "root.pem")
	for file, path := range map[string]string{issuer: "/repo/ca/issuing.pem", root: "/repo/ca/root.pem"} {
		code, _, body := curlGet(path)
		if code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
		if err := os.WriteFile(file, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opensslOCSP := func() string {
		t.Helper()
		out, err := exec.Command(openssl, "ocsp", "-issuer", issuer, "-cert", certFile, "-url", base+"/ocsp",
			"-CAfile", root, "-verify_other", issuer).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl ocsp: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := opensslOCSP(); !strings.Contains(out, "Response verify OK") || !strings.Contains(out, certFile+": good") {
		t.Fatalf("openssl before revocation:\n%s", out)
	}
	status := func() string {
		t.Helper()
		return mustRun(t, nil, "cert", "status", "--ra", base, "--tls-ca", tlsCA, "--serial", serial).stdout
	}
	if out := status(); !strings.HasPrefix(out, serial+": good") {
		t.Fatalf("smki cert status before revocation: %q", out)
	}

	// Revoke; poll (bounded) until OCSP says so, then every view agrees.
	ra.as(sro).must("revoke", "--serial", serial, "--reason", "keyCompromise")
	revoked := time.Now()
	deadline := revoked.Add(30 * time.Second)
	for !strings.Contains(status(), "revoked") {
		if time.Now().After(deadline) {
			t.Fatal("OCSP still does not say revoked 30 s after smki revoke returned")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("revocation visible over OCSP %v after smki revoke returned (smki cert status runs included)", time.Since(revoked).Round(time.Millisecond))
	out := opensslOCSP()
	if !strings.Contains(out, "Response verify OK") || !strings.Contains(out, certFile+": revoked") ||
		!strings.Contains(out, "Reason: keyCompromise") || !strings.Contains(out, "Revocation Time:") {
		t.Errorf("openssl after revocation:\n%s", out)
	}
	if out := status(); !strings.Contains(out, ": revoked at ") || !strings.Contains(out, "reason keyCompromise") {
		t.Errorf("smki cert status after revocation: %q", out)
	}
	if code, _, body := curlGet("/repo/certs/" + serial + ".json"); code != 200 || !bytes.Contains(body, []byte(`"status": "revoked"`)) ||
		!bytes.Contains(body, []byte(`"reason": "keyCompromise"`)) {
		t.Errorf("repository JSON after revocation: %d %s", code, body)
	}
	if code, _, body := curlGet("/repo/certs?user=" + user + "&status=revoked"); code != 200 || !bytes.Contains(body, []byte(`"serial": "`+serial+`"`)) {
		t.Errorf("search for the user's revoked certificates: %d %s", code, body)
	}

	// The static mirror, served by a plain file server, matches the live
	// repository byte for byte.
	mirror := t.TempDir()
	mirrorOut := mustRun(t, nil, "repo", "mirror", "--ra", base, "--tls-ca", tlsCA, "--out", mirror).stdout
	if !strings.Contains(mirrorOut, "revocations") {
		t.Errorf("repo mirror said %q", mirrorOut)
	}
	files := httptest.NewServer(http.FileServer(http.Dir(mirror)))
	defer files.Close()
	n := 0
	err = filepath.WalkDir(mirror, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(mirror, path)
		url := "/" + filepath.ToSlash(rel)
		code, live := srv.get(t, url)
		resp, err := http.Get(files.URL + url)
		if err != nil {
			return err
		}
		copy, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if code != 200 || resp.StatusCode != 200 || !bytes.Equal(live, copy) {
			t.Errorf("%s: live %d (%d bytes), mirror %d (%d bytes), differ", url, code, len(live), resp.StatusCode, len(copy))
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mirror, "repo", "certs", serial+".der")); err != nil || n < 11 {
		t.Errorf("the mirror holds %d files and not the enrolled certificate (%v)", n, err)
	}

	// smki repo serve --dir serves the mirror with the live repository's
	// bytes and headers, and 304 on the live ETag.
	ready := filepath.Join(t.TempDir(), "ready")
	ms := launchServer(t, exec.Command(smkiBin, "repo", "serve", "--dir", mirror, "--listen", "127.0.0.1:0", "--ready-file", ready), data, ready)
	for _, p := range []string{"/repo/index.json", "/repo/ca/root.pem", "/repo/ca/issuing.der", "/repo/crl/orl.crl",
		"/repo/certs/" + serial, "/repo/certs/" + serial + ".der", "/repo/certs/" + serial + ".json"} {
		lc, lh, lb := curlGet(p)
		resp, err := http.Get("http://" + ms.addr + p)
		if err != nil {
			t.Fatal(err)
		}
		mb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if lc != 200 || resp.StatusCode != 200 || !bytes.Equal(lb, mb) {
			t.Errorf("repo serve --dir %s: HTTP %d (%d bytes), live %d (%d bytes)", p, resp.StatusCode, len(mb), lc, len(lb))
		}
		for _, k := range []string{"ETag", "Last-Modified", "Cache-Control", "Content-Type"} {
			live, got := header(lh, k), resp.Header.Get(k)
			if k == "Cache-Control" && p == "/repo/crl/orl.crl" {
				live, got = live[:strings.Index(live, "max-age=")], got[:strings.Index(got, "max-age=")] // counts down
			}
			if live != got {
				t.Errorf("repo serve --dir %s: %s %q, live %q", p, k, got, live)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+ms.addr+p, nil)
		req.Header.Set("If-None-Match", header(lh, "ETag"))
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("repo serve --dir %s with the live ETag: HTTP %d, want 304", p, resp.StatusCode)
		}
	}
}
