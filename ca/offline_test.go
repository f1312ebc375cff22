package ca

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/need"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/migrate"
)

// rootKeyRef returns the root key's reference recorded by Init.
func rootKeyRef(t testing.TB, st store.Store) string {
	t.Helper()
	var state caState
	err := st.View(context.Background(), func(tx store.Tx) error {
		raw, err := tx.GetMeta(metaState)
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, &state)
	})
	if err != nil || state.RootKey == "" {
		t.Fatalf("CA state: %+v, %v", state, err)
	}
	return state.RootKey
}

// onlineCopy is what a ceremony hands the online servers: a copy of cer's
// store and keys without the root key, opened with OfflineRoot on a clock
// of its own that starts at cer's time.
func onlineCopy(t testing.TB, cer *testEnv) *testEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st := openBolt(t, dir)
	if err := migrate.Copy(ctx, cer.st, st); err != nil {
		t.Fatal(err)
	}
	rootRef := rootKeyRef(t, cer.st)
	keys, err := os.ReadDir(filepath.Join(cer.dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		ref := filepath.Join("keys", k.Name())
		if ref == rootRef {
			continue
		}
		b, err := os.ReadFile(filepath.Join(cer.dir, ref))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ref), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, rootRef)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("root key copied to the online side: %v", err)
	}
	clk := &fakeClock{t: cer.clock.Now()}
	cfg := cer.cfg
	cfg.Dir, cfg.Clock, cfg.OfflineRoot = dir, clk.Now, true
	c, err := Open(ctx, st, cfg)
	if err != nil {
		t.Fatalf("Open with OfflineRoot and no root key: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &testEnv{ca: c, st: st, cfg: cfg, clock: clk, dir: dir}
}

// storedCRL reads a CRL record (zero if there is none).
func storedCRL(t testing.TB, st store.Store, name string) store.CRL {
	t.Helper()
	var crl store.CRL
	err := st.View(context.Background(), func(tx store.Tx) (err error) {
		crl, err = tx.GetCRL(name)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

func revocationSeq(t testing.TB, st store.Store) uint64 {
	t.Helper()
	var seq uint64
	if err := st.View(context.Background(), func(tx store.Tx) (err error) { seq, err = tx.RevocationSeq(); return }); err != nil {
		t.Fatal(err)
	}
	return seq
}

func certStatus(t testing.TB, st store.Store, serial string) store.CertStatus {
	t.Helper()
	var c store.Certificate
	if err := st.View(context.Background(), func(tx store.Tx) (err error) { c, err = tx.GetCertificate(serial); return }); err != nil {
		t.Fatal(err)
	}
	return c.Status
}

// TestOfflineRootCA: Open succeeds without the root key under OfflineRoot
// (and fails without it otherwise); issuance and the ORL work; the ARL,
// and so revoking the Issuing OCA, is refused with ErrRootOffline and
// writes nothing; RefreshCRLs keeps the ORL fresh and leaves the ARL, and
// ARLStatus reports it going stale and then expired.
func TestOfflineRootCA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cer := newEnv(t)
	on := onlineCopy(t, cer)
	if !on.ca.RootOffline() || cer.ca.RootOffline() {
		t.Fatalf("RootOffline: online %v, ceremony %v", on.ca.RootOffline(), cer.ca.RootOffline())
	}
	online := on.cfg
	online.OfflineRoot = false
	if _, err := Open(ctx, on.st, online); !errors.Is(err, ErrConfig) {
		t.Fatalf("Open without the root key and without OfflineRoot: %v, want ErrConfig", err)
	}

	// Issuance and the ORL are unaffected.
	_, csr := newCSR(t, nil)
	cert, rec, err := on.ca.Issue(ctx, issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency))
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(on.ca.Issuing()); err != nil {
		t.Fatal(err)
	}
	orl0, arl0 := storedCRL(t, on.st, ORL), storedCRL(t, on.st, ARL)
	if _, err := on.ca.Revoke(ctx, []string{rec.Serial}, 1, time.Time{}); err != nil {
		t.Fatalf("revoking an end-entity certificate: %v", err)
	}
	orl1 := storedCRL(t, on.st, ORL)
	if orl1.Number != orl0.Number+1 || storedCRL(t, on.st, ARL).Number != arl0.Number {
		t.Errorf("after an end-entity revocation: ORL %d -> %d, ARL %d -> %d", orl0.Number, orl1.Number, arl0.Number, storedCRL(t, on.st, ARL).Number)
	}

	// Everything that needs the root is refused and writes nothing.
	issuingSerial := SerialHex(on.ca.Issuing().SerialNumber)
	_, _, audit0 := counts(t, on.st)
	seq0 := revocationSeq(t, on.st)
	refused := []struct {
		name string
		call func() error
	}{
		{"IssueARL", func() error { _, err := on.ca.IssueARL(ctx, 0); return err }},
		{"IssueARLTx", func() error {
			return on.st.Update(ctx, func(tx store.Tx) error { _, err := on.ca.IssueARLTx(tx); return err })
		}},
		{"revoke the Issuing OCA", func() error {
			_, err := on.ca.Revoke(ctx, []string{issuingSerial}, 1, time.Time{}, store.AuditEntry{Actor: "t", Action: "cert.revoke"})
			return err
		}},
	}
	for _, tt := range refused {
		if err := tt.call(); !errors.Is(err, ErrRootOffline) || !strings.HasPrefix(err.Error(), "E_CA_ROOT_OFFLINE") {
			t.Errorf("%s: %v, want E_CA_ROOT_OFFLINE", tt.name, err)
		}
	}
	if _, _, a := counts(t, on.st); a != audit0 {
		t.Errorf("refusals wrote %d audit entries", a-audit0)
	}
	if seq := revocationSeq(t, on.st); seq != seq0 {
		t.Errorf("revocation sequence moved %d -> %d", seq0, seq)
	}
	if s := certStatus(t, on.st, issuingSerial); s != store.StatusGood {
		t.Errorf("Issuing OCA is %s after a refused revocation", s)
	}
	if storedCRL(t, on.st, ORL).Number != orl1.Number || storedCRL(t, on.st, ARL).Number != arl0.Number {
		t.Error("a refused revocation reissued a CRL")
	}

	// RefreshCRLs: the ORL at half-life, never the ARL; ARLStatus grades it.
	steps := []struct {
		advance time.Duration
		want    ARLState
	}{
		{0, ARLOK},
		{13 * time.Hour, ARLOK},
		{15 * 24 * time.Hour, ARLStale}, // 15d13h: past half of 30 days
		{15 * 24 * time.Hour, ARLExpired},
	}
	for i, s := range steps {
		on.clock.Advance(s.advance)
		before := storedCRL(t, on.st, ORL)
		if err := on.ca.RefreshCRLs(ctx); err != nil {
			t.Fatalf("step %d: RefreshCRLs: %v", i, err)
		}
		orl := storedCRL(t, on.st, ORL)
		if s.advance > 0 && orl.Number <= before.Number {
			t.Errorf("step %d: ORL %d -> %d, want it reissued (a higher number)", i, before.Number, orl.Number)
		}
		if a := storedCRL(t, on.st, ARL); a.Number != arl0.Number {
			t.Errorf("step %d: RefreshCRLs reissued the ARL (%d)", i, a.Number)
		}
		st, err := on.ca.ARLStatus(ctx)
		if err != nil || st.State != s.want || st.Number != arl0.Number {
			t.Errorf("step %d: ARLStatus = %+v, %v; want %s", i, st, err, s.want)
		}
	}
}

// TestARLStatusOf: arlStatusOf is internal/crlfresh's grade (its
// boundaries are pinned there: stale at exactly half the lifetime,
// expired at exactly nextUpdate) with the CRL's number and dates.
func TestARLStatusOf(t *testing.T) {
	t.Parallel()
	crl := store.CRL{Number: 3, ThisUpdate: testStart, NextUpdate: testStart.Add(10 * 24 * time.Hour)}
	got := arlStatusOf(crl, testStart.Add(5*24*time.Hour))
	if want := (ARLStatus{State: ARLStale, Number: 3, ThisUpdate: crl.ThisUpdate, NextUpdate: crl.NextUpdate}); got != want {
		t.Errorf("arlStatusOf at half its lifetime = %+v, want %+v", got, want)
	}
}

// TestIssueARL: the ceremony's ARL takes the lifetime asked for within
// MinARLLifetime..MaxARLLifetime, passes the CRL lints (and openssl) even
// at the cap, is recorded with an audit entry; other lifetimes are refused
// and write nothing.
func TestIssueARL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	for _, tt := range []struct {
		lifetime, want time.Duration
		err            error
	}{
		{0, ARLLifetime, nil},
		{MinARLLifetime, MinARLLifetime, nil},
		{MaxARLLifetime, MaxARLLifetime, nil},
		{MinARLLifetime - time.Second, 0, ErrBadRequest},
		{MaxARLLifetime + time.Second, 0, ErrBadRequest},
		{-time.Hour, 0, ErrBadRequest},
	} {
		before := storedCRL(t, e.st, ARL)
		_, _, a0 := counts(t, e.st)
		crl, err := e.ca.IssueARL(ctx, tt.lifetime)
		_, _, a1 := counts(t, e.st)
		if tt.err != nil {
			if !errors.Is(err, tt.err) || storedCRL(t, e.st, ARL).Number != before.Number || a1 != a0 {
				t.Errorf("lifetime %v: %v (ARL %d -> %d, %d audit entries); want %v and nothing written",
					tt.lifetime, err, before.Number, storedCRL(t, e.st, ARL).Number, a1-a0, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("lifetime %v: %v", tt.lifetime, err)
		}
		parsed, err := x509.ParseRevocationList(crl.DER)
		if err != nil || parsed.CheckSignatureFrom(e.ca.Root()) != nil {
			t.Fatalf("lifetime %v: ARL does not verify under the root: %v", tt.lifetime, err)
		}
		if crl.Number != before.Number+1 || parsed.Number.Uint64() != crl.Number ||
			parsed.NextUpdate.Sub(parsed.ThisUpdate) != tt.want || a1 != a0+1 {
			t.Errorf("lifetime %v: number %d (was %d), lifetime %v, %d audit entries",
				tt.lifetime, crl.Number, before.Number, parsed.NextUpdate.Sub(parsed.ThisUpdate), a1-a0)
		}
		if stored := storedCRL(t, e.st, ARL); string(stored.DER) != string(crl.DER) {
			t.Errorf("lifetime %v: the issued ARL is not the stored one", tt.lifetime)
		}
	}
	openssl := need.Tool(t, "openssl", "openssl")
	dir := t.TempDir()
	der, err := e.ca.CRL(ctx, ARL)
	if err != nil {
		t.Fatal(err)
	}
	crl := writePEM(t, filepath.Join(dir, "arl.pem"), "X509 CRL", der)
	root := writePEM(t, filepath.Join(dir, "root.pem"), "CERTIFICATE", e.ca.Root().Raw)
	out, err := exec.Command(openssl, "crl", "-in", crl, "-CAfile", root, "-noout", "-verify").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "verify OK") {
		t.Errorf("openssl crl -verify of a %v ARL: %v\n%s", MaxARLLifetime, err, out)
	}
}
