package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
)

// TestServeConfigTLSNames is issue 14's acceptance on the real binary: a
// server started from a config file alone, listening on every interface,
// with tls.names [ra.smki.test, 127.0.0.2]. openssl sees both names in the
// certificate and verifies it against the access root under the DNS name;
// a client enrols through https://127.0.0.2:PORT (the IP name verified: a
// name not in the certificate is refused); curl reaches /healthz by name.
func TestServeConfigTLSNames(t *testing.T) {
	t.Parallel()
	openssl := need.Tool(t, "openssl", "openssl")
	curl := need.Tool(t, "curl", "curl")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ready := filepath.Join(dir, "ready")
	conf := filepath.Join(dir, "smki.yaml")
	writeFile(t, conf, fmt.Sprintf(`# issue 14 acceptance
data: %s
listen: 0.0.0.0:0
dev: true
ready_file: %s
tls:
  names: [ra.smki.test, 127.0.0.2]
log:
  format: json
`, data, ready))
	cmd := exec.Command(smkiBin, "serve", "--config", conf)
	cmd.Env = withoutSMKI(os.Environ())
	srv := launchServer(t, cmd, data, ready)
	// The kernel picked the port (listen ...:0); the ready file says which.
	_, port, err := net.SplitHostPort(srv.addr)
	if err != nil || port == "0" {
		t.Fatalf("ready file address %q: %v", srv.addr, err)
	}
	root := filepath.Join(data, "access", "access-root.pem")

	// openssl: both names in the SAN, verified under the DNS name.
	r := runCmd(t, []byte{}, openssl, "s_client", "-connect", "127.0.0.1:"+port, "-servername", "ra.smki.test",
		"-CAfile", root, "-verify_hostname", "ra.smki.test", "-verify_return_error")
	if r.code != 0 || !strings.Contains(r.stdout, "Verify return code: 0 (ok)") {
		t.Fatalf("openssl s_client: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	i, j := strings.Index(r.stdout, "-----BEGIN CERTIFICATE-----"), strings.Index(r.stdout, "-----END CERTIFICATE-----")
	if i < 0 || j < i {
		t.Fatalf("openssl s_client printed no certificate:\n%s", r.stdout)
	}
	certFile := filepath.Join(dir, "server.pem")
	writeFile(t, certFile, r.stdout[i:j+len("-----END CERTIFICATE-----")]+"\n")
	r = runCmd(t, nil, openssl, "x509", "-in", certFile, "-noout", "-ext", "subjectAltName")
	if !strings.Contains(r.stdout, "DNS:ra.smki.test") || !strings.Contains(r.stdout, "IP Address:127.0.0.2") {
		t.Fatalf("server certificate SAN: %s %s", r.stdout, r.stderr)
	}

	// A client by IP name: the RA's TLS name 127.0.0.2 is verified.
	ra := raSession{t: t, url: "https://127.0.0.2:" + port, officer: filepath.Join(data, "officers", "admin")}
	const (
		srp   = "90-B3-D5-1F-30-00-00-5C"
		srpSC = "90-B3-D5-1F-30-05-00-00"
	)
	ra.must("party", "create", "--id", srp, "--name", "srp-1")
	ra.must("user", "create", "--id", srpSC, "--party", srp, "--role", "SC", "--name", "srp-sc")
	sro := filepath.Join(dir, "sro")
	ra.must("officer", "add", "--id", "srp1-sro", "--name", "Sam Roe", "--kind", "sro", "--party", srp, "--out", sro)
	key, csr := filepath.Join(dir, "sc.key"), filepath.Join(dir, "sc.csr")
	if r := runCmd(t, nil, openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runCmd(t, nil, openssl, "req", "-new", "-key", key, "-subj", "/CN=srp-sc-xml/OU=87/x500UniqueIdentifier=90B3D51F30050000", "-out", csr); r.code != 0 {
		t.Fatal(r.stderr)
	}
	ra.as(sro).must("enroll", "--user-id", srpSC, "--profile", "xml-signing", "--csr", csr, "--out", filepath.Join(dir, "sc.pem"))
	// The same server by an address it was not named for: refused by the
	// client's TLS check, so the check above was real.
	other := raSession{t: t, url: "https://127.0.0.3:" + port, officer: ra.officer}
	if r := other.run("party", "list"); r.code == 0 || !strings.Contains(r.stderr+r.stdout, "127.0.0.3") {
		t.Fatalf("a client at an unnamed address was not refused: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// curl by DNS name.
	r = runCmd(t, nil, curl, "-sS", "--resolve", "ra.smki.test:"+port+":127.0.0.1", "--cacert", root,
		"https://ra.smki.test:"+port+"/healthz")
	if r.code != 0 || !strings.Contains(r.stdout, `"status":"ok"`) {
		t.Fatalf("curl /healthz by name: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// withoutSMKI drops SMKI_* variables, so a test's config file is the
// only source of settings.
func withoutSMKI(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "SMKI_") {
			out = append(out, e)
		}
	}
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
