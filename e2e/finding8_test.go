package e2e

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// TestFinding8RefusedCredentialBounded is issue 12's finding 8 on the real
// binary: a removed officer's credential used 50 times. The access CA lists
// it on its CRL (/crl/access.crl), the TLS handshake refuses it (coded
// E_RA_OFFICER_INACTIVE by the client), the server keeps answering, and the
// audit log holds a bounded number of refusal records whose counts add up
// to the 50 calls.
func TestFinding8RefusedCredentialBounded(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	url := "https://" + srv.addr
	admin := filepath.Join(data, "officers", "admin")
	ra := raSession{t: t, url: url, officer: admin}
	op := filepath.Join(t.TempDir(), "op9")
	ra.must("officer", "add", "--kind", "ra-operator", "--id", "op9", "--name", "Op Nine", "--out", op)
	ra.as(op).must("party", "list")
	ra.must("officer", "remove", "--id", "op9")

	cfg, err := credential.ClientTLS(op)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	// The access CRL lists the credential, signed by the access root.
	adminTLS, err := credential.ClientTLS(admin)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: adminTLS}}
	resp, err := hc.Get(url + "/crl/access.crl")
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("GET /crl/access.crl: %d: %v", resp.StatusCode, err)
	}
	listed := false
	for _, e := range crl.RevokedCertificateEntries {
		listed = listed || e.SerialNumber.Cmp(leaf.SerialNumber) == 0
	}
	if !listed {
		t.Fatalf("access CRL (%d entries) does not list the removed officer's credential %x", len(crl.RevokedCertificateEntries), leaf.SerialNumber)
	}

	const calls = 50
	for i := 0; i < calls; i++ {
		c, err := raclient.NewClientTLS(url, cfg.Clone())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Whoami(context.Background())
		var ae *raclient.APIError
		if !errors.As(err, &ae) || ae.Code != "E_RA_OFFICER_INACTIVE" {
			t.Fatalf("call %d with the removed officer's credential: %v; want E_RA_OFFICER_INACTIVE", i, err)
		}
	}
	ra.as(op).refused("E_RA_OFFICER_INACTIVE", "party", "list") // the CLI says it coded too
	ra.must("party", "list")                                    // still responsive

	syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGTERM)
	srv.cmd.Wait()
	st, err := bolt.Open(filepath.Join(data, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var entries []store.AuditEntry
	if err := st.View(context.Background(), func(tx store.Tx) error {
		entries, err = tx.AuditEntries(1, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	countRE := regexp.MustCompile(`^count=(\d+)`)
	records, sum := 0, 0
	var got []string
	for _, e := range entries {
		if e.Actor != "unauthenticated:op9" {
			continue
		}
		records++
		m := countRE.FindStringSubmatch(e.Detail)
		if m == nil || e.Result != "refused: E_RA_OFFICER_INACTIVE" {
			t.Errorf("refusal record without a count or with another result: %s %q", e.Result, e.Detail)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		sum += n
		got = append(got, fmt.Sprintf("%s %.60s", e.Result, e.Detail))
	}
	if records > 3 || sum != calls+1 {
		t.Fatalf("%d refusal records, counts summing to %d; want at most 3 summing to %d (50 calls and one CLI call):\n%s",
			records, sum, calls+1, strings.Join(got, "\n"))
	}
}
