package ca

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/need"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// TestParallelIssuanceUniqueSerials: 1,000 issuances from parallel
// goroutines give 1,000 distinct serials, each recorded with a completed
// intent.
func TestParallelIssuanceUniqueSerials(t *testing.T) {
	t.Parallel()
	const n, workers = 1000, 8
	e := newEnv(t)
	reqs := make(chan IssueRequest, n)
	for i := 0; i < n; i++ {
		_, csr := newCSR(t, nil)
		reqs <- issueReq(csr, XMLSigning, eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x31, 0, byte(i >> 8), byte(i)}, partySRP, role.SoLRContingency)
	}
	close(reqs)
	var mu sync.Mutex
	serials := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range reqs {
				_, rec, err := e.ca.Issue(context.Background(), r)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				serials[rec.Serial] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(serials) != n {
		t.Fatalf("%d distinct serials, want %d", len(serials), n)
	}
	err := e.st.View(context.Background(), func(tx store.Tx) error {
		for s := range serials {
			c, err := tx.GetCertificate(s)
			if err != nil || len(c.DER) == 0 {
				t.Errorf("serial %s not recorded: %v", s, err)
			}
			in, err := tx.GetIntent(s)
			if err != nil || in.State != store.IntentCompleted || len(in.LintDER) == 0 {
				t.Errorf("serial %s intent %+v, %v", s, in.State, err)
			}
		}
		open, err := tx.OpenIntents()
		if len(open) != 0 {
			t.Errorf("%d intents left open", len(open))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRevocationAndCRLs: revoked serials appear in the reissued ORL with
// their reason, CRL numbers increase, bad input has its code and writes
// nothing, and openssl accepts both CRLs.
func TestRevocationAndCRLs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var certs []*x509.Certificate
	for i := 0; i < 3; i++ {
		_, csr := newCSR(t, nil)
		c, _, err := e.ca.Issue(ctx, issueReq(csr, DigitalSigning, eui64.ID{1, 2, 3, 4, 5, 6, 7, byte(i + 1)}, partySupA, role.ImportSupplier))
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	orl0 := mustCRL(t, e, ORL)
	e.clock.Advance(time.Minute)
	at := e.clock.Now()
	revs, err := e.ca.Revoke(ctx, []string{SerialHex(certs[0].SerialNumber), strings.ToUpper(SerialHex(certs[1].SerialNumber))},
		5, time.Time{}, store.AuditEntry{Actor: "test", Action: "revoke", Result: "ok"})
	if err != nil || len(revs) != 2 {
		t.Fatalf("Revoke: %v %v", revs, err)
	}
	orl := mustCRL(t, e, ORL)
	if orl.Number.Cmp(orl0.Number) <= 0 {
		t.Errorf("ORL number %v did not increase from %v", orl.Number, orl0.Number)
	}
	if !bytes.Equal(orl.AuthorityKeyId, e.ca.Issuing().SubjectKeyId) || orl.NextUpdate.Sub(orl.ThisUpdate) != ORLLifetime {
		t.Errorf("ORL AKID %x / lifetime %v", orl.AuthorityKeyId, orl.NextUpdate.Sub(orl.ThisUpdate))
	}
	listed := map[string]int{}
	for _, en := range orl.RevokedCertificateEntries {
		listed[SerialHex(en.SerialNumber)] = en.ReasonCode
		if !en.RevocationTime.Equal(at) {
			t.Errorf("revocation time %v, want %v", en.RevocationTime, at)
		}
	}
	if len(listed) != 2 || listed[SerialHex(certs[0].SerialNumber)] != 5 || listed[SerialHex(certs[1].SerialNumber)] != 5 {
		t.Errorf("ORL lists %v", listed)
	}

	_, _, a0 := counts(t, e.st)
	bad := []struct {
		name    string
		serials []string
		reason  int
		want    error
	}{
		{"reason 7", []string{SerialHex(certs[2].SerialNumber)}, 7, ErrBadReason},
		{"reason 8", []string{SerialHex(certs[2].SerialNumber)}, 8, ErrBadReason},
		{"reason 11", []string{SerialHex(certs[2].SerialNumber)}, 11, ErrBadReason},
		{"reason -1", []string{SerialHex(certs[2].SerialNumber)}, -1, ErrBadReason},
		{"unknown serial", []string{"7fffffffffffffffffffffffffffffff"}, 1, ErrNotFound},
		{"not hex", []string{"xyz"}, 1, ErrNotFound},
		{"already revoked, with a good one", []string{SerialHex(certs[2].SerialNumber), SerialHex(certs[0].SerialNumber)}, 1, ErrAlreadyRevoked},
		{"root", []string{SerialHex(e.ca.Root().SerialNumber)}, 1, ErrBadRequest},
	}
	for _, tt := range bad {
		if _, err := e.ca.Revoke(ctx, tt.serials, tt.reason, time.Time{}, store.AuditEntry{Actor: "t", Action: "x"}); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, _, a := counts(t, e.st); a != a0 {
		t.Errorf("refused revocations wrote %d audit entries", a-a0)
	}
	if again := mustCRL(t, e, ORL); again.Number.Cmp(orl.Number) != 0 {
		t.Errorf("refused revocation reissued the ORL")
	}
	var cert2 store.Certificate
	_ = e.st.View(ctx, func(tx store.Tx) (err error) {
		cert2, err = tx.GetCertificate(SerialHex(certs[2].SerialNumber))
		return
	})
	if cert2.Status != store.StatusGood {
		t.Errorf("all-or-nothing violated: %s is %s", cert2.Serial, cert2.Status)
	}

	// RefreshCRLs: nothing before half-life, ORL after it.
	if err := e.ca.RefreshCRLs(ctx); err != nil {
		t.Fatal(err)
	}
	if mustCRL(t, e, ORL).Number.Cmp(orl.Number) != 0 {
		t.Error("RefreshCRLs reissued a fresh ORL")
	}
	e.clock.Advance(13 * time.Hour)
	arl0 := mustCRL(t, e, ARL)
	if err := e.ca.RefreshCRLs(ctx); err != nil {
		t.Fatal(err)
	}
	if mustCRL(t, e, ORL).Number.Cmp(orl.Number) <= 0 || mustCRL(t, e, ARL).Number.Cmp(arl0.Number) != 0 {
		t.Error("RefreshCRLs: want the ORL reissued and the ARL not")
	}
	if _, err := e.ca.CRL(ctx, "crl"); !errors.Is(err, ErrBadRequest) {
		t.Errorf("CRL(crl) = %v", err)
	}

	// openssl accepts both CRLs under their issuers.
	openssl := need.Tool(t, "openssl", "openssl")
	dir := t.TempDir()
	for _, k := range []struct {
		name   string
		issuer *x509.Certificate
	}{{ORL, e.ca.Issuing()}, {ARL, e.ca.Root()}} {
		der, err := e.ca.CRL(ctx, k.name)
		if err != nil {
			t.Fatal(err)
		}
		crl := writePEM(t, filepath.Join(dir, k.name+".pem"), "X509 CRL", der)
		ca := writePEM(t, filepath.Join(dir, k.name+"-issuer.pem"), "CERTIFICATE", k.issuer.Raw)
		out, err := exec.Command(openssl, "crl", "-in", crl, "-CAfile", ca, "-noout", "-verify").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "verify OK") {
			t.Errorf("openssl crl -verify %s: %v\n%s", k.name, err, out)
		}
	}
}

func mustCRL(t *testing.T, e *testEnv, name string) *x509.RevocationList {
	t.Helper()
	der, err := e.ca.CRL(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	issuer := e.ca.Issuing()
	if name == ARL {
		issuer = e.ca.Root()
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		t.Fatalf("%s signature: %v", name, err)
	}
	return crl
}

// TestOpenReconcilesOpenIntents: an intent left open (a crash between
// intent and record) is marked failed by Open and logged; its serial stays
// taken.
func TestOpenReconcilesOpenIntents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const serial = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
	err := e.st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateIntent(store.Intent{Serial: serial, Issuer: IssuerIssuing, Profile: string(XMLSigning),
			UserID: userSC.String(), LintDER: []byte{0x30, 0}, CreatedAt: e.clock.Now(), State: store.IntentOpen})
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg := e.cfg
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c2, err := Open(ctx, e.st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	assertIntent(t, e.st, serial, store.IntentFailed)
	if !strings.Contains(logs.String(), serial) {
		t.Errorf("reconciliation not logged: %s", logs.String())
	}
	err = e.st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateIntent(store.Intent{Serial: serial, Issuer: IssuerIssuing, State: store.IntentOpen, CreatedAt: e.clock.Now()})
	})
	if !errors.Is(err, store.ErrDuplicateSerial) {
		t.Errorf("burnt serial reusable: %v", err)
	}
}

func assertIntent(t *testing.T, st store.Store, serial string, want store.IntentState) {
	t.Helper()
	var in store.Intent
	err := st.View(context.Background(), func(tx store.Tx) (err error) { in, err = tx.GetIntent(serial); return })
	if err != nil || in.State != want {
		t.Fatalf("intent %s: state %q, %v; want %q", serial, in.State, err, want)
	}
}

// faultyStore fails the next failPuts PutCertificate calls: the final
// record transaction of Issue.
type faultyStore struct {
	store.Store
	failPuts atomic.Int32
}

var errInjected = errors.New("injected fault")

func (f *faultyStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.Update(ctx, func(tx store.Tx) error { return fn(faultyTx{tx, f}) })
}

type faultyTx struct {
	store.Tx
	f *faultyStore
}

func (t faultyTx) PutCertificate(c store.Certificate) error {
	if t.f.failPuts.Add(-1) >= 0 {
		return errInjected
	}
	return t.Tx.PutCertificate(c)
}

// TestRecordFailureLeavesIntentOpen: when the final write fails once, no
// certificate is returned or stored, the intent stays open (the store
// knows a certificate may have been signed under that serial), and the next
// Open reconciles it to failed.
func TestRecordFailureLeavesIntentOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fs := &faultyStore{Store: openBolt(t, dir)}
	e := newEnvOn(t, fs, dir, "")
	ctx := context.Background()
	// Every attempt fails: an engine may run a transaction's fn again (bbolt
	// group commit re-runs a failed one alone), so one failure may be retried.
	fs.failPuts.Store(1000)
	_, csr := newCSR(t, nil)
	cert, _, err := e.ca.Issue(ctx, issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency))
	fs.failPuts.Store(0)
	if !errors.Is(err, ErrStore) || !errors.Is(err, errInjected) || cert != nil {
		t.Fatalf("Issue = %v, %v; want ErrStore wrapping the fault and no certificate", cert, err)
	}
	var open []store.Intent
	_ = fs.View(ctx, func(tx store.Tx) (err error) { open, err = tx.OpenIntents(); return })
	if len(open) != 1 {
		t.Fatalf("%d open intents, want 1", len(open))
	}
	_ = fs.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetCertificate(open[0].Serial); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("certificate recorded despite the fault: %v", err)
		}
		return nil
	})
	c2, err := Open(ctx, fs, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	assertIntent(t, fs, open[0].Serial, store.IntentFailed)
	// The next issuance works and does not reuse the serial.
	if _, rec, err := c2.Issue(ctx, issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency)); err != nil || rec.Serial == open[0].Serial {
		t.Fatalf("issue after reconciliation: %v", err)
	}
}

// TestInitOpenErrors: Init twice, Open before Init, wrong passphrase, no
// passphrase, and the system profile.
func TestInitOpenErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if err := Init(ctx, e.st, e.cfg, InitOptions{}); !errors.Is(err, ErrAlreadyInitialised) {
		t.Errorf("second Init: %v", err)
	}
	dir := t.TempDir()
	if _, err := Open(ctx, openBolt(t, dir), e.cfg); !errors.Is(err, ErrNotInitialised) {
		t.Errorf("Open before Init: %v", err)
	}
	wrong := e.cfg
	wrong.Passphrase = []byte("wrong")
	if _, err := Open(ctx, e.st, wrong); !errors.Is(err, ErrConfig) {
		t.Errorf("wrong passphrase: %v", err)
	}
	none := e.cfg
	none.Passphrase = nil
	if err := Init(ctx, openBolt(t, t.TempDir()), none, InitOptions{}); !errors.Is(err, ErrConfig) {
		t.Errorf("no passphrase: %v", err)
	}
	// The root is OU=00 self-signed, the issuing CA OU=07 under it.
	if !strings.Contains(e.ca.Root().Subject.String(), "OU=00") || !strings.Contains(e.ca.Issuing().Subject.String(), "OU=07") ||
		e.ca.Issuing().CheckSignatureFrom(e.ca.Root()) != nil || e.ca.Root().CheckSignatureFrom(e.ca.Root()) != nil {
		t.Errorf("CA hierarchy: root %s, issuing %s", e.ca.Root().Subject, e.ca.Issuing().Subject)
	}
	// System profile: OU=89, no role binding.
	_, csr := newCSR(t, nil)
	sys, err := e.ca.IssueSystem(ctx, csr, eui64.MustParse("90-B3-D5-1F-30-00-00-02"), "smki RA")
	if err != nil {
		t.Fatal(err)
	}
	if sys.Subject.OrganizationalUnit[0] != "89" || findExt(sys, oidExtSubjectDirAttribs) != nil || sys.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("system certificate: %s", sys.Subject)
	}
}
