package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/internal/conformance"
)

// TestTrustExportSidecar (issue 15): smki trust export writes, into an
// empty directory, everything smki verify and the sidecar need; the
// sidecar on it accepts a signed SR 1.6. Started with another PKI's root,
// the sidecar is alive (/healthz 200) but not ready (/readyz 503 with the
// reason) within a second, and refuses requests.
func TestTrustExportSidecar(t *testing.T) {
	t.Parallel()
	srv, _, ra := devRA(t)
	work := t.TempDir()
	const (
		party = "90-B3-D5-1F-30-00-00-0A"
		user  = "90-B3-D5-1F-30-01-00-00"
	)
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.must("user", "create", "--id", user, "--party", party, "--role", "IS", "--name", "supplier-a-is")
	// The template's target device, registered to the user (E4 holds for every role).
	devices := filepath.Join(work, "devices.csv")
	os.WriteFile(devices, []byte("device_eui64,supplier_user_id,smets\n00-DB-12-34-56-78-90-A0,"+user+",2\n"), 0o644)
	ra.must("devices", "import", devices)
	sro, aro, ver := filepath.Join(work, "sro"), filepath.Join(work, "aro"), filepath.Join(work, "verifier")
	ra.must("officer", "add", "--id", "supa-sro", "--name", "Ann Bee", "--kind", "sro", "--party", party, "--out", sro)
	ra.as(sro).must("officer", "add", "--id", "supa-aro", "--name", "Al Bee", "--kind", "aro", "--party", party, "--out", aro)
	ra.must("officer", "add", "--id", "verifier-1", "--name", "command path verifier", "--kind", "verifier", "--out", ver)
	key, csr, cert := filepath.Join(work, "is.key"), filepath.Join(work, "is.csr"), filepath.Join(work, "is.pem")
	mustRun(t, nil, "keygen", "--out", key)
	mustRun(t, nil, "csr", "--key", key, "--user-id", user, "--profile", "xml-signing", "--out", csr)
	ra.as(aro).must("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr, "--out", cert)

	// An officer who may not read the bundle gets a coded refusal and no directory.
	noBundle := filepath.Join(work, "no-bundle")
	if r := ra.as(aro).run("trust", "export", "--out", noBundle); r.code != 2 || !strings.Contains(r.stderr, "E_TRUST_NO_BUNDLE") {
		t.Fatalf("trust export as an ARO: exit %d %s, want 2 E_TRUST_NO_BUNDLE", r.code, r.stderr)
	}
	if _, err := os.Stat(noBundle); !os.IsNotExist(err) {
		t.Fatalf("a refused export left %s behind", noBundle)
	}
	// Unauthenticated GET /v1/trust: the public part (the bundle carries the
	// registers), why the bundle is left out, and the manifest of what it holds.
	code, body := srv.get(t, "/v1/trust")
	var pub struct {
		Root, ORL, Bundle string
		BundleOmitted     string `json:"bundle_omitted"`
		Manifest          struct{ Files map[string]string }
	}
	if code != 200 || json.Unmarshal(body, &pub) != nil || pub.Bundle != "" || pub.BundleOmitted == "" ||
		!strings.Contains(pub.Root, "BEGIN CERTIFICATE") || !strings.Contains(pub.ORL, "BEGIN X509 CRL") {
		t.Fatalf("GET /v1/trust without a credential: %d %s", code, body)
	}
	if got := strings.Join(slices.Sorted(maps.Keys(pub.Manifest.Files)), " "); got != "arl.crl issuing-ca.pem orl.crl root.pem" {
		t.Fatalf("GET /v1/trust without a credential: manifest names %q", got)
	}
	// The public export (no credential, the RA access root): everything but the bundle.
	public := filepath.Join(work, "public")
	mustRun(t, nil, "trust", "export", "--ra", "https://"+srv.addr, "--ra-ca", filepath.Join(ver, "ca.pem"), "--out", public)
	if got := dirNames(t, public); got != "arl.crl issuing-ca.pem manifest.json orl.crl root.pem" {
		t.Fatalf("public trust directory holds %q", got)
	}
	if r := run(t, nil, "trust", "export", "--ra", "https://"+srv.addr, "--ra-ca", filepath.Join(ver, "ca.pem"), "--officer", ver, "--out", filepath.Join(work, "both")); r.code != 2 {
		t.Fatalf("--ra-ca with --officer: exit %d, want 2", r.code)
	}

	trust := filepath.Join(work, "trust")
	os.Mkdir(trust, 0o755) // empty: allowed
	ra.as(ver).must("trust", "export", "--out", trust)
	if got := dirNames(t, trust); got != "arl.crl bundle.json issuing-ca.pem manifest.json orl.crl root.pem" {
		t.Fatalf("trust directory holds %q", got)
	}
	// A second export into it is refused: it is not empty.
	if r := ra.as(ver).run("trust", "export", "--out", trust); r.code != 2 {
		t.Fatalf("export into a full directory: exit %d", r.code)
	}

	template, err := os.ReadFile(conformance.Path(t, "duis", "requests", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(counter int) []byte {
		return []byte(mustRun(t, template, "sign", "--key", key, "--cert", cert, "--counter", fmt.Sprint(counter), "-").stdout)
	}
	// smki verify needs nothing but the directory.
	if r := run(t, sign(1), "verify", "--trust", trust, "-"); r.code != 0 || !strings.Contains(r.stdout, `"decision":"accept"`) {
		t.Fatalf("smki verify --trust %s: exit %d %s %s", trust, r.code, r.stdout, r.stderr)
	}
	addr := startSidecar(t, "--trust", trust, "--ra", "https://"+srv.addr, "--officer", ver)
	client := &http.Client{Timeout: 10 * time.Second}
	waitFor(t, 30*time.Second, "sidecar ready", func() bool { return status(client, "http://"+addr+"/readyz") == 200 })
	if d := postVerify(t, addr, sign(2)); d.Decision != "accept" {
		t.Fatalf("sidecar on the exported trust: %+v", d)
	}
	// On the public export, the sidecar fetches the bundle from the RA itself.
	addr = startSidecar(t, "--trust", public, "--ra", "https://"+srv.addr, "--officer", ver)
	waitFor(t, 30*time.Second, "sidecar on the public export ready", func() bool { return status(client, "http://"+addr+"/readyz") == 200 })
	if d := postVerify(t, addr, sign(3)); d.Decision != "accept" {
		t.Fatalf("sidecar on the public export: %+v", d)
	}

	// Another PKI's root with this RA's bundle: alive, not ready at once, refusing.
	wrong := filepath.Join(work, "wrong-trust")
	os.Mkdir(wrong, 0o755)
	os.WriteFile(filepath.Join(wrong, "root.pem"), mustReadFile(t, filepath.Join(scenario(t), "trust", "root.pem")), 0o644)
	proc := startSidecarProc(t, "--trust", wrong, "--bundle", filepath.Join(trust, "bundle.json"), "--ra", "https://"+srv.addr, "--officer", ver)
	addr = proc.addr
	started := time.Now()
	resp, err := client.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(rb), `"ready":false`) || !strings.Contains(string(rb), "E_ENVELOPE_SIGNER") {
		t.Fatalf("wrong root: /readyz %d %s, want 503 with the reason (E_ENVELOPE_SIGNER)", resp.StatusCode, rb)
	}
	if since := time.Since(started); since > time.Second {
		t.Fatalf("wrong root: /readyz answered %s after the sidecar listened, want within a second", since)
	}
	if c := status(client, "http://"+addr+"/healthz"); c != 200 {
		t.Fatalf("wrong root: /healthz %d, want 200 (liveness)", c)
	}
	if d := postVerify(t, addr, sign(4)); d.Decision != "reject" {
		t.Fatalf("wrong root: the sidecar answered %+v, want a reject", d)
	}
	// Corrected in place, the trust directory is re-read without a restart.
	for _, name := range []string{"root.pem", "issuing-ca.pem", "arl.crl", "orl.crl"} {
		if err := os.WriteFile(filepath.Join(wrong, name), mustReadFile(t, filepath.Join(trust, name)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 15*time.Second, "the corrected sidecar ready", func() bool { return status(client, "http://"+addr+"/readyz") == 200 })
	if d := postVerify(t, addr, sign(5)); d.Decision != "accept" {
		t.Fatalf("corrected trust: the sidecar answered %+v, want accept", d)
	}
	// SIGHUP while serving reloads the trust directory: another PKI's root
	// makes it not ready (and refusing) again; readiness follows it back.
	otherRoot := mustReadFile(t, filepath.Join(scenario(t), "trust", "root.pem"))
	if err := os.WriteFile(filepath.Join(wrong, "root.pem"), otherRoot, 0o644); err != nil {
		t.Fatal(err)
	}
	proc.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 15*time.Second, "not ready after SIGHUP with another root", func() bool {
		code, body, _ := tryGet(client, "http://"+addr+"/readyz")
		return code == 503 && strings.Contains(body, `"reasons":["`)
	})
	if d := postVerify(t, addr, sign(6)); d.Decision != "reject" {
		t.Fatalf("after SIGHUP with another root: %+v, want a reject", d)
	}
	os.WriteFile(filepath.Join(wrong, "root.pem"), mustReadFile(t, filepath.Join(trust, "root.pem")), 0o644)
	waitFor(t, 15*time.Second, "ready again with its root back", func() bool { return status(client, "http://"+addr+"/readyz") == 200 })
	// A SIGHUP with nothing changed keeps it serving (the new verifier
	// catches up with the feed before it takes over).
	proc.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(time.Second)
	if c := status(client, "http://"+addr+"/readyz"); c != 200 {
		t.Fatalf("after a SIGHUP with nothing changed: /readyz %d", c)
	}
	if d := postVerify(t, addr, sign(7)); d.Decision != "accept" {
		t.Fatalf("after a SIGHUP with nothing changed: %+v, want accept", d)
	}
	// Every verifier the sidecar builds (a reload, a return to ready)
	// remembers what the ones before it accepted, without --state-file:
	// the request accepted before this SIGHUP is a replay after it.
	proc.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(time.Second)
	for _, ctr := range []int{7, 5} {
		if d := postVerify(t, addr, sign(ctr)); d.Decision != "reject" || d.Code != "REPLAY" {
			t.Fatalf("counter %d, accepted before a reload, sent again after it: %+v, want reject REPLAY", ctr, d)
		}
	}
}

// dirNames lists a directory's entries, sorted, space-separated.
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

func status(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
