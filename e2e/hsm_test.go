package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/softhsmtest"
)

// TestServeRefusesABadPINOnce: smki serve on a CA in a PKCS#11 token,
// given a PIN the token refuses or a pin-source that gives none, exits 2
// with E_KMS_PIN and what to fix (never the PIN itself, given or in the
// URI), and deploy/smki.service does not restart
// on exit 2 (TestSystemdUnit): restarted every RestartSec it would log in
// with the wrong PIN until the token locks it.
// Not parallel: it sets SOFTHSM2_CONF for the process (and the binary).
func TestServeRefusesABadPINOnce(t *testing.T) {
	uri := softhsmtest.Token(t, "smki")
	dir := t.TempDir()
	mustRun(t, nil, "ca", "init", "--data", dir, "--kms", uri)
	for _, tt := range []struct{ name, pin, want string }{
		{"wrong PIN", "pin-value=86420975", "the token refused the PIN"},
		{"pin-source missing", "pin-source=" + filepath.Join(dir, "pin"), "cannot be read (no such file)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, "serve", "--data", dir, "--listen", "127.0.0.1:0",
				"--kms", strings.Replace(uri, "pin-value=1234", tt.pin, 1))
			if r.code != 2 || !strings.Contains(r.stderr, "E_KMS_PIN") || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("smki serve with a bad PIN: exit %d, stderr:\n%s\nwant exit 2, E_KMS_PIN saying %q", r.code, r.stderr, tt.want)
			}
			// Neither PIN reaches the log: not the wrong one given, not
			// the right one in the token's URI.
			if out := r.stdout + r.stderr; strings.Contains(out, "86420975") || strings.Contains(out, "pin-value") {
				t.Errorf("smki serve with a bad PIN logged the PIN or the URI's pin-value:\n%s", out)
			}
		})
	}
}

// TestHSMOutageInService: the CA's token goes away under `smki serve`
// and comes back. Meanwhile /readyz is 503, an enrolment fails 503
// E_CA_KEY_UNAVAILABLE, and a revocation is recorded, its answer saying
// the ORL is not reissued yet (not "ORL reissued"); once the token is back
// the server is ready again and enrols, without a restart. /metrics says
// which check fails (smki_server_check_ok{check="ca_key"} 0) and that the
// ORL is owed the revocation (smki_crl_owed{crl="orl"} 1).
// Not parallel: it sets SOFTHSM2_CONF for the process (and the binary).
func TestHSMOutageInService(t *testing.T) {
	uri := softhsmtest.Token(t, "smki")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev", "--kms", uri), data)
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
	work := t.TempDir()
	const party, user = "90-B3-D5-1F-30-00-00-5C", "90-B3-D5-1F-30-05-00-00"
	ra.must("party", "create", "--id", party, "--name", "srp-1")
	ra.must("user", "create", "--id", user, "--party", party, "--role", "SC", "--name", "srp-sc")
	sro, aro := filepath.Join(work, "sro"), filepath.Join(work, "aro")
	ra.must("officer", "add", "--id", "srp1-sro", "--name", "Sam Roe", "--kind", "sro", "--party", party, "--out", sro)
	ra.as(sro).must("officer", "add", "--id", "srp1-aro", "--name", "Al Roe", "--kind", "aro", "--party", party, "--out", aro)
	csr := func(name string) string {
		key, csr := filepath.Join(work, name+".key"), filepath.Join(work, name+".csr")
		mustRun(t, nil, "keygen", "--out", key)
		mustRun(t, nil, "csr", "--key", key, "--user-id", user, "--profile", "xml-signing", "--out", csr)
		return csr
	}
	enrol := func(name string) result {
		return ra.as(aro).run("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr(name), "--out", filepath.Join(work, name+".pem"), "--json")
	}
	r := enrol("first")
	var first struct{ Serial string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &first) != nil || first.Serial == "" {
		t.Fatalf("enrol: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	replug := softhsmtest.Unplug(t)
	if code, body := srv.get(t, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the token away: %d %s", code, body)
	}
	if v := serverMetric(t, srv, `smki_server_check_ok{check="ca_key"}`); v != 0 {
		t.Errorf(`smki_server_check_ok{check="ca_key"} with the token away = %v, want 0`, v)
	}
	if r := enrol("second"); r.code != 1 || !strings.Contains(r.stderr, "E_CA_KEY_UNAVAILABLE") {
		t.Errorf("enrol with the token away: exit %d\n%s", r.code, r.stderr)
	}
	r = ra.as(aro).run("revoke", "--serial", first.Serial, "--reason", "keyCompromise")
	if r.code != 0 || strings.Contains(r.stdout, "ORL reissued") || !strings.Contains(r.stdout, "ORL not reissued yet") {
		t.Errorf("revoke with the token away: exit %d, want it recorded and the ORL said to follow\n%s%s", r.code, r.stdout, r.stderr)
	}
	if v := serverMetric(t, srv, `smki_crl_owed{crl="orl"}`); v != 1 {
		t.Errorf(`smki_crl_owed{crl="orl"} after a revocation with the token away = %v, want 1`, v)
	}

	replug()
	deadline := time.Now().Add(30 * time.Second)
	for code, _ := srv.get(t, "/readyz"); code != http.StatusOK; code, _ = srv.get(t, "/readyz") {
		if time.Now().After(deadline) {
			t.Fatal("/readyz not ready 30 s after the token came back")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if v := serverMetric(t, srv, `smki_server_check_ok{check="ca_key"}`); v != 1 {
		t.Errorf(`smki_server_check_ok{check="ca_key"} once the token is back = %v, want 1`, v)
	}
	if r := enrol("third"); r.code != 0 {
		t.Errorf("enrol once the token is back: exit %d\n%s", r.code, r.stderr)
	}
	// The token's failures are logged without its URI's PIN.
	if b, err := os.ReadFile(srv.log); err != nil || strings.Contains(string(b), "pin-value") {
		t.Errorf("the server log (%v) holds the KMS URI's pin-value", err)
	}
}
