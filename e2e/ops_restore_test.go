package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/internal/conformance"
)

// tcpForwarder forwards each connection to the address in target at
// the time it arrives: the stable address a client keeps while the
// server behind it is replaced.
type tcpForwarder struct {
	addr   string
	target atomic.Value // string
}

func startTCPForwarder(t *testing.T, target string) *tcpForwarder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &tcpForwarder{addr: ln.Addr().String()}
	f.target.Store(target)
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", f.target.Load().(string))
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(up, c); up.Close() }()
			go func() { defer wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return f
}

// TestRestoreOlderBackupWhileVerifiersFollow: the documented restore
// (docs/operations.md "After restoring a backup") on the real binary, with
// a verifier sidecar following the RA throughout. A backup is taken, then
// a certificate is revoked (revocation 1, which the restore loses); the
// server is stopped, the backup put in place as DATA/smki.db and the
// server started again behind the same address. The restored store's
// audit chain verifies; the sidecar, which had applied revocation 1, moves
// back to the restored RA's sequence at its next bundle, still refuses
// the certificate whose revocation was lost, and refuses REVOKED the
// signer the restored RA then revokes (its revocation 1 again) through
// the feed, well within the bundle interval.
func TestRestoreOlderBackupWhileVerifiersFollow(t *testing.T) {
	t.Parallel()
	srv, data, ra := devRA(t)
	work := t.TempDir()
	const party, user, dev = "90-B3-D5-1F-30-00-00-0A", "90-B3-D5-1F-30-01-00-00", "00-DB-12-34-56-78-90-A0"
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.must("user", "create", "--id", user, "--party", party, "--role", "IS", "--name", "supplier-a-is")
	devices := filepath.Join(work, "devices.csv")
	os.WriteFile(devices, []byte("device_eui64,supplier_user_id,smets\n"+dev+","+user+",2\n"), 0o644)
	ra.must("devices", "import", devices)
	aro, ver, key, cert := enrolledSupplier(ra, work, party, user)
	// A second signing certificate of the same user: the one whose
	// revocation the restore loses.
	key2, csr2, cert2 := filepath.Join(work, "is2.key"), filepath.Join(work, "is2.csr"), filepath.Join(work, "is2.pem")
	mustRun(t, nil, "keygen", "--out", key2)
	mustRun(t, nil, "csr", "--key", key2, "--user-id", user, "--profile", "xml-signing", "--out", csr2)
	ra.as(aro).must("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr2, "--out", cert2)
	serialOf := func(pemFile string) string {
		out := mustRun(t, nil, "cert", "inspect", "--json", pemFile).stdout
		var c struct{ Serial string }
		if err := json.Unmarshal([]byte(out), &c); err != nil || c.Serial == "" {
			t.Fatalf("cert show %s: %v %s", pemFile, err, out)
		}
		return c.Serial
	}

	trust := filepath.Join(work, "trust")
	os.MkdirAll(trust, 0o755)
	_, root := srv.get(t, "/roots")
	_, issuing := srv.get(t, "/ca/issuing.pem")
	os.WriteFile(filepath.Join(trust, "root.pem"), root, 0o644)
	os.WriteFile(filepath.Join(trust, "issuing-ca.pem"), issuing, 0o644)
	bundle := filepath.Join(work, "bundle.json")
	ra.as(ver).must("bundle", "export", "--out", bundle)
	fwd := startTCPForwarder(t, srv.addr)
	side := startSidecar(t, "--bundle", bundle, "--trust", trust, "--ra", "https://"+fwd.addr, "--officer", ver, "--bundle-interval", "2s")
	waitHealthy(t, side)

	template, err := os.ReadFile(conformance.Path(t, "duis", "requests", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	counter := 0
	post := func(key, cert string) decision {
		t.Helper()
		counter++
		signed := mustRun(t, template, "sign", "--key", key, "--cert", cert, "--counter", fmt.Sprint(counter), "-").stdout
		return postVerify(t, side, []byte(signed))
	}
	if d := post(key, cert); d.Decision != "accept" {
		t.Fatalf("before the backup: %+v", d)
	}

	backup := filepath.Join(work, "smki-backup.db")
	ra.must("store", "backup", "--out", backup)
	ra.as(aro).must("revoke", "--serial", serialOf(cert2), "--reason", "keyCompromise")
	waitFor(t, 20*time.Second, "the sidecar to apply revocation 1", func() bool { return sidecarSeq(t, side) == 1 })

	// Restore: stop, put the backup in place, start behind the same address.
	srv.stop()
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "smki.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	srv2 := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	fwd.target.Store(srv2.addr)
	ra.url = "https://" + srv2.addr
	if r := ra.must("audit", "verify"); !strings.Contains(r.stdout, "audit chain OK") {
		t.Fatalf("audit verify on the restored store: %s", r.stdout)
	}

	// The restored RA's next bundle (revocation_seq 0) moves the sidecar
	// back; what it revoked stays revoked.
	waitFor(t, 30*time.Second, "the sidecar to follow the restored RA's sequence", func() bool { return sidecarSeq(t, side) == 0 })
	if d := post(key2, cert2); d.Code != "REVOKED" {
		t.Fatalf("the certificate whose revocation the restore lost: %+v, want REVOKED at the sidecar that had it", d)
	}
	if d := post(key, cert); d.Decision != "accept" {
		t.Fatalf("after the restore: %+v", d)
	}
	// The restored RA's revocation 1: through the feed, at once.
	ra.as(aro).must("revoke", "--serial", serialOf(cert), "--reason", "keyCompromise")
	start := time.Now()
	waitFor(t, 20*time.Second, "REVOKED for the restored RA's revocation", func() bool { return post(key, cert).Code == "REVOKED" })
	t.Logf("the sidecar refused the signer the restored RA revoked %s after the revocation", time.Since(start).Round(time.Millisecond))
}
