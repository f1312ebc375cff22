package e2e

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/internal/credential"
)

// TestLogsHoldNoSecrets drives the main paths of smki serve (at
// --log-level debug) and of the verifier sidecar -- officers appointed
// with keys the RA makes, an enrolment, a revocation, a console login
// link used, a sidecar accept and rejects -- and requires that neither
// log holds a secret or a whole object: no PEM block of any kind, no
// base64 line of any private key, CSR or certificate the run used, no dev
// passphrase and no console login token. Each log line is JSON with the
// stable keys time, level and msg. (Found nothing to fix: it holds the
// line for every later change.)
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev", "--log-level", "debug", "--log-format", "json"), data)
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
	work := t.TempDir()
	// The SRO, ARO and verifier credentials: keys made by the RA.
	user, aro, ver, key, cert := supplierWithDevice(ra, work)

	trust := filepath.Join(work, "trust")
	ra.as(ver).must("trust", "export", "--out", trust)
	sc := startSidecarProc(t, "--trust", trust, "--ra", "https://"+srv.addr, "--officer", ver)
	waitHealthy(t, sc.addr)
	template, err := os.ReadFile(conformance.Path(t, "duis", "requests", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	signed := []byte(mustRun(t, template, "sign", "--key", key, "--cert", cert, "--counter", "1", "-").stdout)
	if d := postVerify(t, sc.addr, signed); d.Decision != "accept" {
		t.Fatalf("sidecar: %+v, want accept", d)
	}
	if d := postVerify(t, sc.addr, signed); d.Code != "REPLAY" {
		t.Fatalf("sidecar, the same request again: %+v, want REPLAY", d)
	}
	postVerify(t, sc.addr, []byte("<not-duis/>"))

	// A console login link, used.
	link := strings.TrimSpace(ra.must("console", "open", "--no-browser").stdout)
	token := link[strings.LastIndex(link, "/")+1:]
	if i := strings.LastIndex(token, "\n"); i >= 0 {
		token = token[i+1:]
	}
	adminTLS, err := credential.ClientTLS(ra.officer)
	if err != nil {
		t.Fatal(err)
	}
	adminTLS.ServerName = "localhost"
	officer := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: adminTLS}}
	getBody(t, officer, "https://"+srv.addr+"/console/login/"+token)

	serials := strings.TrimSpace(ra.as(aro).must("certs", "--user", user, "--json").stdout)
	serial := regexp.MustCompile(`"serial":\s*"([0-9a-f]+)"`).FindStringSubmatch(serials)
	if serial == nil {
		t.Fatalf("certs: %s", serials)
	}
	ra.as(aro).must("revoke", "--serial", serial[1], "--reason", "keyCompromise")
	waitFor(t, 20*time.Second, "REVOKED at the sidecar", func() bool {
		signed := []byte(mustRun(t, template, "sign", "--key", key, "--cert", cert, "--counter", "2", "-").stdout)
		return postVerify(t, sc.addr, signed).Code == "REVOKED"
	})

	// What must never be logged.
	secrets := map[string]string{"console login token": token}
	if pass, err := os.ReadFile(filepath.Join(data, "passphrase")); err == nil {
		secrets["dev passphrase"] = strings.TrimSpace(string(pass))
	}
	pemFiles := []string{key, cert, strings.TrimSuffix(key, ".key") + ".csr", filepath.Join(data, "officers", "admin", "key.pem")}
	for _, dir := range []string{aro, ver, filepath.Join(work, "sro")} {
		pemFiles = append(pemFiles, filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem"))
	}
	for _, f := range pemFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for rest := b; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			body := strings.Split(string(pem.EncodeToMemory(&pem.Block{Type: blk.Type, Bytes: blk.Bytes})), "\n")
			for i, l := range body[1 : len(body)-2] { // the base64 lines
				if len(l) >= 40 {
					secrets[fmt.Sprintf("%s line %d of %s", blk.Type, i+1, f)] = l
				}
			}
		}
	}
	if len(secrets) < 20 {
		t.Fatalf("only %d secrets to look for: %v", len(secrets), secrets)
	}
	for name, path := range map[string]string{"smki serve": srv.log, "smki verifier serve": sc.log} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		log := string(b)
		if !strings.Contains(log, `"msg":`) {
			t.Fatalf("%s logged nothing in JSON:\n%.500s", name, log)
		}
		if strings.Contains(log, "-----BEGIN") {
			t.Errorf("%s's log holds a PEM block", name)
		}
		for what, s := range secrets {
			if s != "" && strings.Contains(log, s) {
				t.Errorf("%s's log holds the %s", name, what)
			}
		}
		// smki serve's start banner (stdout) is text; every log line
		// (stderr) is JSON with the stable keys.
		for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
			if strings.HasPrefix(line, "{") && (!strings.HasPrefix(line, `{"time":`) || !strings.Contains(line, `"level":`) || !strings.Contains(line, `"msg":`)) {
				t.Errorf("%s: a line without the stable keys time, level, msg: %.300s", name, line)
			}
		}
	}
}
