package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/internal/conformance"
)

// startSidecar runs `smki verifier serve` with args on a port the kernel
// picks (--listen 127.0.0.1:0) and returns the address it wrote to its
// --ready-file once listening: no port is chosen before the child binds
// it, so parallel servers cannot race for one. The process group is killed
// at cleanup; its log is shown if the test failed.
func startSidecar(t *testing.T, args ...string) string {
	t.Helper()
	return startSidecarProc(t, args...).addr
}

// sidecarProc is a running `smki verifier serve`.
type sidecarProc struct {
	addr   string
	log    string // its stdout and stderr
	cmd    *exec.Cmd
	exited chan struct{}
}

// kill sends SIGKILL to the sidecar's process group and waits for it to
// exit: no shutdown code runs.
func (p *sidecarProc) kill() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// startSidecarProc is startSidecar returning the process, for tests that
// kill it.
func startSidecarProc(t *testing.T, args ...string) *sidecarProc {
	t.Helper()
	return startSidecarEnv(t, nil, args...)
}

// startSidecarEnv is startSidecarProc with env added to the test's
// environment (less any proxy setting of the machine running the tests,
// as runEnv), for tests that set the sidecar's environment.
func startSidecarEnv(t *testing.T, env []string, args ...string) *sidecarProc {
	t.Helper()
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	cmd := exec.Command(smkiBin, append([]string{"verifier", "serve", "--listen", "127.0.0.1:0", "--ready-file", ready}, args...)...)
	if env != nil {
		cmd.Env = append(withoutProxy(os.Environ()), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(dir, "sidecar.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("sidecar log:\n%s", b)
		}
	})
	var addr []byte
	waitFor(t, time.Minute, "the sidecar's --ready-file", func() bool {
		select {
		case <-exited:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("smki verifier serve exited before it was ready:\n%s", b)
		default:
		}
		addr, err = os.ReadFile(ready)
		return err == nil && len(addr) > 0
	})
	return &sidecarProc{addr: string(addr), log: logf.Name(), cmd: cmd, exited: exited}
}

// TestVerifierSidecarFollowsRA runs `smki verifier serve` as a sidecar that
// follows a real RA over mTLS with a verifier credential: a request from
// an enrolled Import Supplier to its own device is accepted; the same
// Supplier's SR 1.6 to another Supplier's device is E4, by `smki verify`
// and by the sidecar (issue 16); after `smki party suspend` the sidecar
// refuses the Supplier's request to its own device PARTY, learnt from the
// feed, and accepts again after `smki party reinstate`; after the RA
// revokes the certificate, the sidecar answers REVOKED, learnt from the
// feed.
func TestVerifierSidecarFollowsRA(t *testing.T) {
	t.Parallel()
	requirement(t, "L4", "L7")
	srv, _, ra := devRA(t)
	work := t.TempDir()

	const (
		party  = "90-B3-D5-1F-30-00-00-0A"
		user   = "90-B3-D5-1F-30-01-00-00"
		partyB = "90-B3-D5-1F-30-00-00-0B"
		userB  = "90-B3-D5-1F-30-02-00-00"
		devA   = "00-DB-12-34-56-78-90-A0" // the template's target
		devB   = "00-DB-12-34-56-78-90-B0"
	)
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.must("user", "create", "--id", user, "--party", party, "--role", "IS", "--name", "supplier-a-is")
	ra.must("party", "create", "--id", partyB, "--name", "supplier-b")
	ra.must("user", "create", "--id", userB, "--party", partyB, "--role", "IS", "--name", "supplier-b-is")
	devices := filepath.Join(work, "devices.csv")
	os.WriteFile(devices, []byte("device_eui64,supplier_user_id,smets\n"+devA+","+user+",2\n"+devB+","+userB+",2\n"), 0o644)
	ra.must("devices", "import", devices)
	aro, ver, key, cert := enrolledSupplier(ra, work, party, user)
	serial := strings.TrimSpace(ra.as(aro).must("certs", "--user", user, "--json").stdout)
	var certs []struct{ Serial string }
	if err := json.Unmarshal([]byte(serial), &certs); err != nil || len(certs) != 1 {
		t.Fatalf("certs: %v %s", err, serial)
	}

	trust := filepath.Join(work, "trust")
	os.MkdirAll(trust, 0o755)
	_, root := srv.get(t, "/roots")
	_, issuing := srv.get(t, "/ca/issuing.pem")
	os.WriteFile(filepath.Join(trust, "root.pem"), root, 0o644)
	os.WriteFile(filepath.Join(trust, "issuing-ca.pem"), issuing, 0o644)
	bundle := filepath.Join(work, "bundle.json")
	ra.as(ver).must("bundle", "export", "--out", bundle)

	addr := startSidecar(t, "--bundle", bundle, "--trust", trust, "--ra", "https://"+srv.addr, "--officer", ver)
	waitHealthy(t, addr)

	template, err := os.ReadFile(conformance.Path(t, "duis", "requests", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	signTo := func(target string, counter int) []byte {
		t.Helper()
		req := []byte(strings.Replace(string(template), ":"+devA+":", ":"+target+":", 1))
		return []byte(mustRun(t, req, "sign", "--key", key, "--cert", cert, "--counter", fmt.Sprint(counter), "-").stdout)
	}
	post := func(counter int) decision {
		t.Helper()
		return postVerify(t, addr, signTo(devA, counter))
	}
	if d := post(1); d.Decision != "accept" {
		t.Fatalf("before revocation: %+v", d)
	}
	// A serial the RA never issued: refused CERT from the RA's issuance
	// list (GET /repo/changes), without a lookup (once the sidecar has
	// read the list, which it starts doing when it starts).
	forged := regexp.MustCompile(`X509SerialNumber>[0-9]+<`).ReplaceAll(signTo(devA, 2), []byte("X509SerialNumber>123456789012345678901234567890<"))
	waitFor(t, 20*time.Second, "CERT from the issuance list", func() bool {
		d := postVerify(t, addr, forged)
		return d.Code == "CERT" && strings.Contains(d.Reason, "issuance list")
	})
	// E4 for every role (issue 16): Supplier A's SR 1.6 to Supplier B's
	// device, by the sidecar and by `smki verify` on the exported bundle.
	toB := signTo(devB, 2)
	if d := postVerify(t, addr, toB); d.Code != "E4" || !strings.Contains(d.Reason, userB) {
		t.Fatalf("sidecar, A's request to B's device: %+v, want E4 naming %s", d, userB)
	}
	if r := run(t, toB, "verify", "--bundle", bundle, "--trust", trust, "-"); r.code != 3 || !strings.Contains(r.stdout, `"code":"E4"`) {
		t.Fatalf("smki verify, A's request to B's device: exit %d %s%s, want 3 and E4", r.code, r.stdout, r.stderr)
	}

	// Party status through the feed: suspended, A's own-device request is
	// PARTY; reinstated, accepted again.
	pre := signTo(devA, 3)
	ra.must("party", "suspend", "--id", party)
	suspended := time.Now()
	ra.refused("E_RA_INACTIVE", "party", "suspend", "--id", party)
	waitFor(t, 20*time.Second, "PARTY from the feed", func() bool {
		return postVerify(t, addr, pre).Code == "PARTY"
	})
	t.Logf("sidecar refused the suspended party's user %s after `smki party suspend` returned", time.Since(suspended).Round(time.Millisecond))
	ra.must("party", "reinstate", "--id", party)
	counter := 4
	waitFor(t, 20*time.Second, "accept after reinstatement", func() bool {
		d := post(counter)
		counter++
		return d.Decision == "accept"
	})

	ra.as(aro).must("revoke", "--serial", certs[0].Serial, "--reason", "keyCompromise")
	start := time.Now()
	waitFor(t, 20*time.Second, "REVOKED from the feed", func() bool {
		d := post(counter)
		counter++
		return d.Code == "REVOKED"
	})
	t.Logf("sidecar refused the revoked signer %s after the RA revoked it", time.Since(start).Round(time.Millisecond))
}

// postVerify posts a signed request to a sidecar's /v1/verify and returns
// its decision.
func postVerify(t *testing.T, addr string, signed []byte) decision {
	t.Helper()
	return postVerifyVia(t, &http.Client{Timeout: 30 * time.Second}, "http://"+addr, signed)
}

// postVerifyVia is postVerify through client to the sidecar at base URL.
func postVerifyVia(t *testing.T, client *http.Client, base string, signed []byte) decision {
	t.Helper()
	resp, err := client.Post(base+"/v1/verify", "application/xml", bytes.NewReader(signed))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d decision
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatalf("sidecar answer (HTTP %d): %v", resp.StatusCode, err)
	}
	return d
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// enrolledSupplier appoints an SRO and an ARO of party and a verifier
// credential (directories under work), and enrols an xml-signing
// certificate for user with a key made by smki keygen. It returns the
// ARO's and the verifier's credential directories and the key and
// certificate files.
func enrolledSupplier(ra raSession, work, party, user string) (aro, ver, key, cert string) {
	t := ra.t
	t.Helper()
	sro := filepath.Join(work, "sro")
	aro, ver = filepath.Join(work, "aro"), filepath.Join(work, "verifier")
	ra.must("officer", "add", "--id", "supa-sro", "--name", "Ann Bee", "--kind", "sro", "--party", party, "--out", sro)
	ra.as(sro).must("officer", "add", "--id", "supa-aro", "--name", "Al Bee", "--kind", "aro", "--party", party, "--out", aro)
	ra.must("officer", "add", "--id", "verifier-1", "--name", "command path verifier", "--kind", "verifier", "--out", ver)
	key, csr, cert := filepath.Join(work, "is.key"), filepath.Join(work, "is.csr"), filepath.Join(work, "is.pem")
	mustRun(t, nil, "keygen", "--out", key)
	mustRun(t, nil, "csr", "--key", key, "--user-id", user, "--profile", "xml-signing", "--out", csr)
	ra.as(aro).must("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr, "--out", cert)
	return aro, ver, key, cert
}

// supplierWithDevice registers supplier-a (a party and its Import
// Supplier user) with the DUIS conformance template's target device and
// enrols it as enrolledSupplier does; it returns the user and
// enrolledSupplier's files.
func supplierWithDevice(ra raSession, work string) (user, aro, ver, key, cert string) {
	const (
		party = "90-B3-D5-1F-30-00-00-0A"
		dev   = "00-DB-12-34-56-78-90-A0" // the template's target
	)
	user = "90-B3-D5-1F-30-01-00-00"
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.must("user", "create", "--id", user, "--party", party, "--role", "IS", "--name", "supplier-a-is")
	devices := filepath.Join(work, "devices.csv")
	os.WriteFile(devices, []byte("device_eui64,supplier_user_id,smets\n"+dev+","+user+",2\n"), 0o644)
	ra.must("devices", "import", devices)
	aro, ver, key, cert = enrolledSupplier(ra, work, party, user)
	return user, aro, ver, key, cert
}

// waitHealthy waits until the sidecar at addr answers /healthz 200.
func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	waitFor(t, 30*time.Second, "sidecar health", func() bool {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}
