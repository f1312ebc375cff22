package e2e

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/smki/smki/internal/need"
)

// TestOCSPRealClients: what relying parties' real clients send to the real
// binary's /ocsp, each answered as docs/repository.md ("What it answers")
// says: openssl ocsp with the responder URL ending in a slash, with and
// without a nonce (answered without one: openssl warns and verifies), with
// several -cert (malformedRequest, which openssl reports as HTTP 400), for
// another issuer (unauthorized); a GET whose base64 holds '+' and '/', as
// they are and percent-encoded, and HEAD of it; a request over the size
// cap (malformedRequest with HTTP 413).
func TestOCSPRealClients(t *testing.T) {
	t.Parallel()
	openssl := need.Tool(t, "openssl", "openssl")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	dir := t.TempDir()
	issuer, root := filepath.Join(dir, "issuing.pem"), filepath.Join(dir, "root.pem")
	for file, path := range map[string]string{issuer: "/repo/ca/issuing.pem", root: "/repo/ca/root.pem"} {
		code, body := srv.get(t, path)
		if code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		if err := os.WriteFile(file, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := "https://" + srv.addr + "/ocsp"
	signer := filepath.Join(data, "ra", "system-signer.pem")
	opensslOCSP := func(u string, args ...string) string {
		t.Helper()
		args = append([]string{"ocsp", "-issuer", issuer, "-CAfile", root, "-url", u}, args...)
		out, _ := exec.Command(openssl, args...).CombinedOutput()
		return string(out)
	}
	if out := opensslOCSP(base+"/", "-cert", signer, "-no_nonce"); !strings.Contains(out, "Response verify OK") ||
		!strings.Contains(out, signer+": good") || strings.Contains(out, "WARNING") {
		t.Errorf("openssl, URL with a trailing slash, no nonce:\n%s", out)
	}
	if out := opensslOCSP(base, "-cert", signer); !strings.Contains(out, "WARNING: no nonce in response") ||
		!strings.Contains(out, "Response verify OK") || !strings.Contains(out, signer+": good") {
		t.Errorf("openssl with its default nonce (answered without one: a warning, then verified):\n%s", out)
	}
	if out := opensslOCSP(base, "-cert", signer, "-cert", signer, "-no_nonce"); !strings.Contains(out, "code=400") {
		t.Errorf("openssl with two -cert (malformedRequest, HTTP 400):\n%s", out)
	}
	if out := opensslOCSP(base, "-issuer", root, "-cert", issuer, "-no_nonce"); !strings.Contains(out, "Responder Error: unauthorized") {
		t.Errorf("openssl about another issuer's certificate:\n%s", out)
	}

	// A GET whose base64 holds '+' and '/' (a serial never issued: the
	// answer is a signed unknown), as it is and percent-encoded, and HEAD.
	issuerCert := readPEMCert(t, issuer)
	var der []byte
	var b64 string
	for s := int64(1); ; s++ {
		der, _ = xocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(0x5000 + s)}, issuerCert, nil)
		if b64 = base64.StdEncoding.EncodeToString(der); strings.Contains(b64, "+") && strings.Contains(b64, "/") {
			break
		}
	}
	do := func(method, u string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, u, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	var etag string
	for _, enc := range []string{b64, url.QueryEscape(b64)} {
		resp, body := do(http.MethodGet, base+"/"+enc, nil)
		r, err := xocsp.ParseResponse(body, issuerCert)
		if resp.StatusCode != 200 || err != nil || r.Status != xocsp.Unknown {
			t.Fatalf("GET /ocsp/%s: HTTP %d, %v", enc, resp.StatusCode, err)
		}
		etag = resp.Header.Get("Etag")
		head, hb := do(http.MethodHead, base+"/"+enc, nil)
		if head.StatusCode != 200 || len(hb) != 0 || head.Header.Get("Etag") != etag || head.Header.Get("Content-Type") != "application/ocsp-response" {
			t.Errorf("HEAD /ocsp/%s: HTTP %d, %d bytes, ETag %q (GET's %q), %q", enc, head.StatusCode, len(hb), head.Header.Get("Etag"), etag, head.Header.Get("Content-Type"))
		}
	}
	malformed := []byte{0x30, 0x03, 0x0a, 0x01, 0x01}
	// openssl's request with its nonce and without: the same response,
	// byte for byte (no nonce echoed; docs/repository.md).
	var answers [][]byte
	for i, flag := range []string{"-nonce", "-no_nonce"} {
		reqFile := filepath.Join(dir, "req"+strconv.Itoa(i)+".der")
		if out, err := exec.Command(openssl, "ocsp", "-issuer", issuer, "-cert", signer, flag, "-reqout", reqFile).CombinedOutput(); err != nil {
			t.Fatalf("openssl ocsp %s -reqout: %v\n%s", flag, err, out)
		}
		reqDER, err := os.ReadFile(reqFile)
		if err != nil {
			t.Fatal(err)
		}
		_, body := do(http.MethodPost, base, reqDER)
		answers = append(answers, body)
	}
	if !bytes.Equal(answers[0], answers[1]) || len(answers[0]) == 0 {
		t.Errorf("a request with a nonce got %d bytes, one without %d: want the same response", len(answers[0]), len(answers[1]))
	}
	if resp, body := do(http.MethodPost, base, make([]byte, 9<<10)); resp.StatusCode != http.StatusRequestEntityTooLarge || !bytes.Equal(body, malformed) {
		t.Errorf("POST of 9 KiB: HTTP %d, %x; want 413 and malformedRequest %x", resp.StatusCode, body, malformed)
	}
	if resp, body := do(http.MethodGet, base, nil); resp.StatusCode != http.StatusBadRequest || !bytes.Equal(body, malformed) {
		t.Errorf("GET /ocsp: HTTP %d, %x; want 400 and malformedRequest %x", resp.StatusCode, body, malformed)
	}
	if resp, _ := do(http.MethodPut, base, der); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("PUT /ocsp: HTTP %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
