package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// fakeClock is a settable test clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

var testStart = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

type testEnv struct {
	ca    *CA
	st    store.Store
	cfg   Config
	clock *fakeClock
	dir   string
}

func openBolt(t testing.TB, dir string) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(dir, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newEnv initialises a softkms CA on a bolt store in a temp dir.
func newEnv(t testing.TB) *testEnv {
	t.Helper()
	dir := t.TempDir()
	st := openBolt(t, dir)
	return newEnvOn(t, st, dir, "")
}

func newEnvOn(t testing.TB, st store.Store, dir, kmsURI string) *testEnv {
	t.Helper()
	clk := &fakeClock{t: testStart}
	cfg := Config{Dir: dir, Passphrase: []byte("correct horse battery staple"), KMS: kmsURI, Clock: clk.Now}
	ctx := context.Background()
	if err := Init(ctx, st, cfg, InitOptions{}); err != nil {
		t.Fatalf("Init: %v", err)
	}
	c, err := Open(ctx, st, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &testEnv{ca: c, st: st, cfg: cfg, clock: clk, dir: dir}
}

// newCSR returns a P-256 key and a CSR over subject (nil: empty subject).
func newCSR(t testing.TB, rawSubject []byte) (*ecdsa.PrivateKey, *x509.CertificateRequest) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key, csrFor(t, key, rawSubject)
}

func csrFor(t testing.TB, key crypto.Signer, rawSubject []byte) *x509.CertificateRequest {
	t.Helper()
	tmpl := &x509.CertificateRequest{RawSubject: rawSubject}
	if rawSubject == nil {
		tmpl.Subject = pkix.Name{}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

var (
	userSC    = eui64.MustParse("90-B3-D5-1F-30-01-00-00")
	partySRP  = eui64.MustParse("90-B3-D5-1F-30-00-00-10")
	userIS    = eui64.MustParse("90-B3-D5-1F-30-02-00-00")
	partySupA = eui64.MustParse("90-B3-D5-1F-30-00-00-20")
)

func issueReq(csr *x509.CertificateRequest, p Profile, user, party eui64.ID, r role.UserRole) IssueRequest {
	return IssueRequest{CSR: csr, Profile: p, UserID: user, PartyID: party, Role: r}
}

func writePEM(t testing.TB, path, typ string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// counts returns how many intents, certificates and audit entries st holds.
func counts(t testing.TB, st store.Store) (intents, certs, audit int) {
	t.Helper()
	err := st.View(context.Background(), func(tx store.Tx) error {
		cs, err := tx.ListCertificates(store.CertFilter{})
		if err != nil {
			return err
		}
		certs = len(cs)
		for _, c := range cs {
			if _, err := tx.GetIntent(c.Serial); err == nil {
				intents++
			}
		}
		open, err := tx.OpenIntents()
		if err != nil {
			return err
		}
		intents += len(open)
		as, err := tx.AuditEntries(1, 0)
		audit = len(as)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return
}
