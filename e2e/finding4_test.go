package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/internal/dccx509"
)

// TestFinding4SignerRotation is the rest of issue 12's findings 3 and 4 on
// the real binary. The RA's own signer is revoked by its own four-eyes
// procedure (smki signer revoke / approve: the requester and an approver
// with an RA-made key are refused E_RA_FOUR_EYES); approving it rotates the
// signer. A `smki verifier serve` following the RA keeps accepting
// throughout (no gap) and applies the feed page that revokes the old
// signer, signed by the new one. Afterwards `smki verify` refuses the
// old signer's bundle against the new trust directory (its ORL lists the
// old signer) and accepts the new one, and `smki verifier serve` will not
// start on the old bundle.
func TestFinding4SignerRotation(t *testing.T) {
	t.Parallel()
	template, err := os.ReadFile(conformance.Path(t, "duis", "requests", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	work := t.TempDir()
	url := "https://" + srv.addr
	ra := raSession{t: t, url: url, officer: filepath.Join(data, "officers", "admin")}
	_, aro, ver, key, cert := supplierWithDevice(ra, work)
	counter := 0
	signed := func() []byte {
		t.Helper()
		counter++
		return []byte(mustRun(t, template, "sign", "--key", key, "--cert", cert, "--counter", fmt.Sprint(counter), "-").stdout)
	}

	oldTrust := filepath.Join(work, "trust-old")
	ra.as(ver).must("trust", "export", "--out", oldTrust)
	oldSigner := envelopeSigner(t, filepath.Join(oldTrust, "bundle.json"))
	addr := startSidecar(t, "--trust", oldTrust, "--ra", url, "--officer", ver)
	waitHealthy(t, addr)
	accept := func(when string) {
		t.Helper()
		if d := postVerify(t, addr, signed()); d.Decision != "accept" {
			t.Fatalf("sidecar %s: %+v, want accept", when, d)
		}
	}
	accept("before the rotation")
	seq0 := sidecarSeq(t, addr)

	// Two people: the requester and an approver with an RA-made key are
	// refused; the bootstrap approver with a key it made approves.
	var req struct{ ID, State string }
	out := ra.must("signer", "revoke", "--serial", oldSigner, "--reason", "keyCompromise", "--json").stdout
	if err := json.Unmarshal([]byte(out), &req); err != nil || req.ID == "" || req.State != "requested" {
		t.Fatalf("signer revoke: %v\n%s", err, out)
	}
	ra.refused("E_RA_FOUR_EYES", "signer", "approve", req.ID)
	approver := filepath.Join(data, "officers", "approver")
	ra.as(approver).refused("E_RA_FOUR_EYES", "signer", "approve", req.ID)
	ra.as(aro).refused("E_RA_FORBIDDEN", "signer", "revoke", "--serial", oldSigner)
	accept("after the refused approvals")
	ra.as(approver).must("officer", "renew")
	var done struct {
		State     string `json:"state"`
		NewSigner string `json:"new_signer"`
	}
	out = ra.as(approver).must("signer", "approve", req.ID, "--json").stdout
	if err := json.Unmarshal([]byte(out), &done); err != nil || done.State != "revoked" || done.NewSigner == "" || done.NewSigner == oldSigner {
		t.Fatalf("signer approve: %v\n%s", err, out)
	}

	// No gap: the sidecar answers throughout, and applies the page that
	// revokes the old signer (signed by the new one).
	accept("right after the rotation")
	waitFor(t, 30*time.Second, "the sidecar to apply the page revoking the old signer", func() bool {
		return sidecarSeq(t, addr) > seq0
	})
	accept("after applying the old signer's revocation")

	newTrust := filepath.Join(work, "trust-new")
	ra.as(ver).must("trust", "export", "--out", newTrust)
	if got := envelopeSigner(t, filepath.Join(newTrust, "bundle.json")); got != done.NewSigner {
		t.Fatalf("new bundle signed by %s, want the new signer %s", got, done.NewSigner)
	}
	request := signed()
	if r := run(t, request, "verify", "--bundle", filepath.Join(oldTrust, "bundle.json"), "--trust", newTrust, "-"); r.code != 2 || !strings.Contains(r.stderr, "E_ENVELOPE_SIGNER_REVOKED") {
		t.Fatalf("smki verify with the revoked signer's bundle: exit %d %s%s, want 2 E_ENVELOPE_SIGNER_REVOKED", r.code, r.stdout, r.stderr)
	}
	if r := run(t, request, "verify", "--trust", newTrust, "-"); r.code != 0 {
		t.Fatalf("smki verify with the new signer's bundle: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	serve := exec.CommandContext(ctx, smkiBin, "verifier", "serve", "--listen", "127.0.0.1:0",
		"--bundle", filepath.Join(oldTrust, "bundle.json"), "--trust", newTrust)
	b, err := serve.CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(b), "E_ENVELOPE_SIGNER_REVOKED") {
		t.Fatalf("smki verifier serve on the revoked signer's bundle: %v (context %v)\n%s", err, ctx.Err(), b)
	}
}

// envelopeSigner returns the serial (lower-case hex) of the signer of the
// signed bundle or feed envelope in file.
func envelopeSigner(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Chain [][]byte }
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Chain) == 0 {
		t.Fatalf("%s: %v", file, err)
	}
	c, err := dccx509.ParseCertificate(env.Chain[0])
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber.Text(16)
}

// sidecarSeq returns the revocation sequence the sidecar has applied.
func sidecarSeq(t *testing.T, addr string) uint64 {
	t.Helper()
	_, body := getBody(t, http.DefaultClient, "http://"+addr+"/metrics")
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, "smki_verifier_revocation_seq "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("smki_verifier_revocation_seq %q: %v", v, err)
			}
			return uint64(f)
		}
	}
	t.Fatalf("sidecar metrics lack smki_verifier_revocation_seq:\n%.500s", body)
	return 0
}
