package e2e

import (
	"bytes"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/internal/pgtest"
)

// TestRepoServeScaleOut: the repository without the RA (issue 18). smki
// serve on PostgreSQL issues and revokes a certificate; two smki repo
// serve instances read the same database (read-only) and answer every
// repository URL (index, CA certificates, CRLs, the certificate in each
// form, its status, a search) with the same bytes as each other and as
// the RA's own /repo/.
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
		key, csr, cert := filepath.Join(work, "u.key"), filepath.Join(work, "u.csr"), filepath.Join(work, "u.pem")
		mustRun(t, nil, "keygen", "--out", key)
		mustRun(t, nil, "csr", "--key", key, "--user-id", user, "--profile", "xml-signing", "--out", csr)
		ra.as(sro).must("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr, "--out", cert)
		b, err := os.ReadFile(cert)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			t.Fatalf("enrolment %d wrote no PEM", i)
		}
		c, err := dccx509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		serials = append(serials, c.SerialNumber.Text(16))
		os.Remove(key)
	}
	ra.as(sro).must("revoke", "--serial", serials[1], "--reason", "keyCompromise")

	var bases []string
	for range 2 {
		ready := filepath.Join(t.TempDir(), "ready")
		rs := launchServer(t, exec.Command(smkiBin, "repo", "serve", "--store", url, "--listen", "127.0.0.1:0", "--ready-file", ready), data, ready)
		bases = append(bases, "http://"+rs.addr)
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
