package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/internal/conformance"
)

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestVerifierSidecarFollowsRA runs `smki verifier serve` as a sidecar that
// follows a real RA over mTLS with a verifier credential: a request from
// an enrolled Import Supplier is accepted; after the RA revokes that
// certificate, the sidecar answers REVOKED, learnt from the feed.
func TestVerifierSidecarFollowsRA(t *testing.T) {
	t.Parallel()
	requirement(t, "L4", "L7")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	work := t.TempDir()
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}

	const (
		party = "90-B3-D5-1F-30-00-00-0A"
		user  = "90-B3-D5-1F-30-01-00-00"
	)
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.must("user", "create", "--id", user, "--party", party, "--role", "IS", "--name", "supplier-a-is")
	sro, aro, ver := filepath.Join(work, "sro"), filepath.Join(work, "aro"), filepath.Join(work, "verifier")
	ra.must("officer", "add", "--id", "supa-sro", "--name", "Ann Bee", "--kind", "sro", "--party", party, "--out", sro)
	ra.as(sro).must("officer", "add", "--id", "supa-aro", "--name", "Al Bee", "--kind", "aro", "--party", party, "--out", aro)
	ra.must("officer", "add", "--id", "verifier-1", "--name", "command path verifier", "--kind", "verifier", "--out", ver)
	key, csr, cert := filepath.Join(work, "is.key"), filepath.Join(work, "is.csr"), filepath.Join(work, "is.pem")
	mustRun(t, nil, "keygen", "--out", key)
	mustRun(t, nil, "csr", "--key", key, "--user-id", user, "--profile", "xml-signing", "--out", csr)
	ra.as(aro).must("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr, "--out", cert)
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

	addr := freeAddr(t)
	side := exec.Command(smkiBin, "verifier", "serve", "--listen", addr, "--bundle", bundle, "--trust", trust,
		"--ra", "https://"+srv.addr, "--officer", ver)
	side.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, _ := os.Create(filepath.Join(work, "sidecar.log"))
	side.Stdout, side.Stderr = logf, logf
	if err := side.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-side.Process.Pid, syscall.SIGKILL)
		side.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("sidecar log:\n%s", b)
		}
	})
	client := &http.Client{Timeout: 10 * time.Second}
	waitFor(t, 30*time.Second, "sidecar health", func() bool {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	template, err := os.ReadFile(conformance.Path(t, "duis", "requests", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	post := func(counter int) decision {
		t.Helper()
		signed := mustRun(t, template, "sign", "--key", key, "--cert", cert, "--counter", fmt.Sprint(counter), "-").stdout
		resp, err := client.Post("http://"+addr+"/v1/verify", "application/xml", bytes.NewReader([]byte(signed)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d decision
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := post(1); d.Decision != "accept" {
		t.Fatalf("before revocation: %+v", d)
	}
	ra.as(aro).must("revoke", "--serial", certs[0].Serial, "--reason", "keyCompromise")
	start := time.Now()
	counter := 2
	waitFor(t, 20*time.Second, "REVOKED from the feed", func() bool {
		d := post(counter)
		counter++
		return d.Code == "REVOKED"
	})
	t.Logf("sidecar refused the revoked signer %s after the RA revoked it", time.Since(start).Round(time.Millisecond))
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
