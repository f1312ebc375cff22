package e2e

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/internal/need"
)

// TestOfflineRootCeremony is the offline Root OCA on the real binary: `ca
// init` on a ceremony data directory; a copy without the root key serves
// with --offline-root, issues and serves the ARL; the ceremony issues a fresh ARL (`ca arl`), the online side
// imports it with its server stopped (`ca import-arl`, which refuses a
// replay), and the restarted server serves the new, higher-numbered ARL,
// which openssl verifies under the root.
func TestOfflineRootCeremony(t *testing.T) {
	t.Parallel()
	requirement(t, "L5")
	openssl := need.Tool(t, "openssl", "openssl")
	work := t.TempDir()
	ceremony, online := filepath.Join(work, "ceremony"), filepath.Join(work, "online")
	pass := filepath.Join(work, "passphrase")
	if err := os.WriteFile(pass, []byte("offline root e2e passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// The ceremony: both keys, then the online copy without the root key,
	// copied keeping its modes (docs/operations.md: smki refuses a key file
	// others may read).
	mustRun(t, nil, "ca", "init", "--data", ceremony, "--passphrase-file", pass)
	if r := runCmd(t, nil, "cp", "-a", ceremony, online); r.code != 0 {
		t.Fatalf("cp -a: %s", r.stderr)
	}
	rootKeys, _ := filepath.Glob(filepath.Join(online, "keys", "root-*.key"))
	if len(rootKeys) != 1 {
		t.Fatalf("root key files in the online copy: %v", rootKeys)
	}
	if err := os.Remove(rootKeys[0]); err != nil {
		t.Fatal(err)
	}

	serve := func() *server {
		return startServer(t, exec.Command(smkiBin, "serve", "--offline-root", "--passphrase-file", pass), online)
	}
	srv := serve()
	if got := srv.health(t); got.ARL != "ok" {
		t.Errorf("/healthz arl = %q, want ok", got.ARL)
	}
	_, rootPEM := srv.get(t, "/roots")
	rootFile := filepath.Join(work, "root.pem")
	os.WriteFile(rootFile, rootPEM, 0o644)
	arl1 := fetchARL(t, srv)
	// The ARL of ca init: numbered by its issue time in nanoseconds
	// (docs/profiles.md), so its number's second is its thisUpdate.
	if n := arl1.Number; !n.IsInt64() || n.Int64()/int64(time.Second) != arl1.ThisUpdate.Unix() {
		t.Fatalf("served ARL number %v, thisUpdate %s: want the ARL ca init issued, numbered by its issue time", arl1.Number, arl1.ThisUpdate)
	}

	// Issuance works without the root key.
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(online, "officers", "admin")}
	const (
		party = "90-B3-D5-1F-30-00-00-0A"
		user  = "90-B3-D5-1F-30-01-00-00"
	)
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.must("user", "create", "--id", user, "--party", party, "--role", "IS", "--name", "supplier-a-is")
	sro, aro := filepath.Join(work, "sro"), filepath.Join(work, "aro")
	ra.must("officer", "add", "--id", "supa-sro", "--name", "Ann Bee", "--kind", "sro", "--party", party, "--out", sro)
	ra.as(sro).must("officer", "add", "--id", "supa-aro", "--name", "Al Bee", "--kind", "aro", "--party", party, "--out", aro)
	key, csr, cert := filepath.Join(work, "is.key"), filepath.Join(work, "is.csr"), filepath.Join(work, "is.pem")
	mustRun(t, nil, "keygen", "--out", key)
	mustRun(t, nil, "csr", "--key", key, "--user-id", user, "--profile", "xml-signing", "--out", csr)
	ra.as(aro).must("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr, "--out", cert)
	_, issuingPEM := srv.get(t, "/ca/issuing.pem")
	issuingFile := filepath.Join(work, "issuing.pem")
	os.WriteFile(issuingFile, issuingPEM, 0o644)
	if r := runCmd(t, nil, openssl, "verify", "-CAfile", rootFile, "-untrusted", issuingFile, cert); r.code != 0 {
		t.Fatalf("openssl verify of the certificate issued with the root offline: %s %s", r.stdout, r.stderr)
	}

	syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGTERM)
	srv.cmd.Wait()

	// The next ceremony: a 180-day ARL, imported on the online side.
	arlFile := filepath.Join(work, "arl-2.crl")
	mustRun(t, nil, "ca", "arl", "--data", ceremony, "--passphrase-file", pass, "--lifetime", "180d", "--out", arlFile)
	if r := run(t, nil, "ca", "arl", "--data", online, "--passphrase-file", pass, "--out", filepath.Join(work, "x.crl")); r.code == 0 || !strings.Contains(r.stderr, "E_CA_CONFIG") {
		t.Fatalf("ca arl on the online copy (no root key): exit %d, want E_CA_CONFIG\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(work, "x.crl")); !os.IsNotExist(err) {
		t.Errorf("a failed ca arl left --out behind: %v", err)
	}
	mustRun(t, nil, "ca", "import-arl", arlFile, "--data", online)
	if r := run(t, nil, "ca", "import-arl", arlFile, "--data", online); r.code == 0 || !strings.Contains(r.stderr, "E_CA_ARL_NUMBER") {
		t.Fatalf("replayed import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	garbage := filepath.Join(work, "garbage.crl")
	os.WriteFile(garbage, []byte("not an ARL"), 0o644)
	if r := run(t, nil, "ca", "import-arl", garbage, "--data", online); r.code == 0 || !strings.Contains(r.stderr, "E_CA_ARL_INVALID") {
		t.Fatalf("garbage import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Served again: the imported ARL, byte for byte, and openssl accepts it.
	srv = serve()
	want, err := os.ReadFile(arlFile)
	if err != nil {
		t.Fatal(err)
	}
	arl2 := fetchARL(t, srv)
	if !bytes.Equal(arl2.Raw, want) || arl2.Number.Cmp(arl1.Number) <= 0 {
		t.Fatalf("served ARL number %v, want the imported one (%d bytes), higher than %v", arl2.Number, len(want), arl1.Number)
	}
	if d := arl2.NextUpdate.Sub(arl2.ThisUpdate); d.Hours() != 180*24 {
		t.Errorf("imported ARL lifetime %v, want 180 days", d)
	}
	if got := srv.health(t); got.ARL != "ok" || got.Status != "ok" {
		t.Errorf("/healthz after import: %+v", got)
	}
	served := filepath.Join(work, "served-arl.crl")
	os.WriteFile(served, arl2.Raw, 0o644)
	r := runCmd(t, nil, openssl, "crl", "-inform", "DER", "-in", served, "-CAfile", rootFile, "-noout", "-verify")
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "verify OK") {
		t.Errorf("openssl crl -verify of the imported ARL: %s %s", r.stdout, r.stderr)
	}
}

// healthz is the JSON of the server's /healthz.
type healthz struct {
	Status    string `json:"status"`
	Scheduler string `json:"scheduler"`
	ARL       string `json:"arl"`
}

func (s *server) health(t *testing.T) healthz {
	t.Helper()
	code, body := s.get(t, "/healthz")
	var h healthz
	if err := json.Unmarshal(body, &h); err != nil || code != 200 {
		t.Fatalf("/healthz: %d %s (%v)", code, body, err)
	}
	return h
}

func fetchARL(t *testing.T, s *server) *x509.RevocationList {
	t.Helper()
	code, der := s.get(t, "/crl/arl.crl")
	if code != 200 {
		t.Fatalf("/crl/arl.crl: %d", code)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}
